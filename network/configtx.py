"""Channel configuration: genesis config blocks, built the way `configtxgen -outputBlock` builds them.

Each channel's block 0 holds one CONFIG envelope whose `Config` has an Orderer group (etcdraft,
batch settings, the orderer org) and an Application group (one group per member org with its
MSP, policies and anchor peers, ACLs, capabilities). Both engines start channels from these
blocks; `write_configtx_yaml` writes the same network as a `configtx.yaml` for configtxgen users.

Policies follow the sandbox's rule: tenants (orgs without peers) are Readers and Writers but never
needed to endorse, so the channel's Endorsement and LifecycleEndorsement policies are signature
policies over peer orgs (from the topology) instead of configtxgen's default MAJORITY ImplicitMeta,
which tenants could never satisfy.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import yaml
from fabric_protos.common import common_pb2, configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import msp_config_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2
from fabric_protos.peer import configuration_pb2 as peer_config_pb2

from network import yamlio
from network.identities import CryptoLayout
from network.topology import Org, Topology

CHANNEL_CAPABILITY = "V3_0"
ORDERER_CAPABILITY = "V2_0"
APPLICATION_CAPABILITY = "V2_5"
MSG_VERSION = 1  # configtxgen's genesis message version

# Fabric's sample ACLs (sampleconfig/configtx.yaml), which configtxgen copies into the block
DEFAULT_ACLS = {
    "_lifecycle/CheckCommitReadiness": "/Channel/Application/Writers",
    "_lifecycle/CommitChaincodeDefinition": "/Channel/Application/Writers",
    "_lifecycle/QueryChaincodeDefinition": "/Channel/Application/Writers",
    "_lifecycle/QueryChaincodeDefinitions": "/Channel/Application/Writers",
    "lscc/ChaincodeExists": "/Channel/Application/Readers",
    "lscc/GetDeploymentSpec": "/Channel/Application/Readers",
    "lscc/GetChaincodeData": "/Channel/Application/Readers",
    "lscc/GetInstantiatedChaincodes": "/Channel/Application/Readers",
    "qscc/GetChainInfo": "/Channel/Application/Readers",
    "qscc/GetBlockByNumber": "/Channel/Application/Readers",
    "qscc/GetBlockByHash": "/Channel/Application/Readers",
    "qscc/GetTransactionByID": "/Channel/Application/Readers",
    "qscc/GetBlockByTxID": "/Channel/Application/Readers",
    "cscc/GetConfigBlock": "/Channel/Application/Readers",
    "cscc/GetChannelConfig": "/Channel/Application/Readers",
    "peer/Propose": "/Channel/Application/Writers",
    "peer/ChaincodeToChaincode": "/Channel/Application/Writers",
    "event/Block": "/Channel/Application/Readers",
    "event/FilteredBlock": "/Channel/Application/Readers",
}

ROLE = msp_principal_pb2.MSPRole


# ---- policy builders ------------------------------------------------------------------------


def signed_by_roles(msp_id: str, roles: list[str]) -> policies_pb2.SignaturePolicyEnvelope:
    """`OR('<msp>.<role>', ...)`: the shape of every org-level policy configtxgen writes."""
    identities = [
        msp_principal_pb2.MSPPrincipal(
            principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
            principal=msp_principal_pb2.MSPRole(
                msp_identifier=msp_id, role=msp_principal_pb2.MSPRole.MSPRoleType.Value(r.upper())
            ).SerializeToString(),
        )
        for r in roles
    ]
    rules = [policies_pb2.SignaturePolicy(signed_by=i) for i in range(len(identities))]
    return policies_pb2.SignaturePolicyEnvelope(
        version=0,
        rule=policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=1, rules=rules)
        ),
        identities=identities,
    )


def signature_policy_from_string(expr: str) -> policies_pb2.SignaturePolicyEnvelope:
    from network.embedded.policydsl import from_string  # the one parser of Fabric's policy DSL

    return from_string(expr)


def _signature(env: policies_pb2.SignaturePolicyEnvelope) -> configtx_pb2.ConfigPolicy:
    return configtx_pb2.ConfigPolicy(
        mod_policy="Admins",
        policy=policies_pb2.Policy(
            type=policies_pb2.Policy.SIGNATURE, value=env.SerializeToString()
        ),
    )


def _implicit(rule: str, sub_policy: str) -> configtx_pb2.ConfigPolicy:
    meta = policies_pb2.ImplicitMetaPolicy(
        sub_policy=sub_policy, rule=policies_pb2.ImplicitMetaPolicy.Rule.Value(rule)
    )
    return configtx_pb2.ConfigPolicy(
        mod_policy="Admins",
        policy=policies_pb2.Policy(
            type=policies_pb2.Policy.IMPLICIT_META, value=meta.SerializeToString()
        ),
    )


def _value(msg: Any) -> configtx_pb2.ConfigValue:
    return configtx_pb2.ConfigValue(mod_policy="Admins", value=msg.SerializeToString())


def _capabilities(name: str) -> configtx_pb2.ConfigValue:
    caps = configuration_pb2.Capabilities()
    caps.capabilities[name].CopyFrom(configuration_pb2.Capability())
    return _value(caps)


def _standard_policies(group: configtx_pb2.ConfigGroup) -> None:
    group.policies["Readers"].CopyFrom(_implicit("ANY", "Readers"))
    group.policies["Writers"].CopyFrom(_implicit("ANY", "Writers"))
    group.policies["Admins"].CopyFrom(_implicit("MAJORITY", "Admins"))


def writer_roles(org: Org) -> list[str]:
    """Who of an application org satisfies its Writers policy. An org that is a Writer of none
    (an auditor) names only its orderer nodes: it runs none and its CA issues none, so nothing
    it signs passes the channel's Writers policy (peer/Propose, the orderer's Broadcast)."""
    return ["admin", "client"] if org.writer else ["orderer"]


# ---- MSP ------------------------------------------------------------------------------------


def msp_config(layout: CryptoLayout, org_key: str) -> msp_config_pb2.MSPConfig:
    org = layout.topology.orgs[org_key]
    ca = layout.ca_cert(org_key).read_bytes()
    tlsca = layout.tlsca_cert(org_key).read_bytes()

    def ou(name: str) -> msp_config_pb2.FabricOUIdentifier:
        return msp_config_pb2.FabricOUIdentifier(
            certificate=ca, organizational_unit_identifier=name
        )

    fabric = msp_config_pb2.FabricMSPConfig(
        name=org.msp_id,
        root_certs=[ca],
        tls_root_certs=[tlsca],
        crypto_config=msp_config_pb2.FabricCryptoConfig(
            signature_hash_family="SHA2", identity_identifier_hash_function="SHA256"
        ),
        fabric_node_ous=msp_config_pb2.FabricNodeOUs(
            enable=True,
            client_ou_identifier=ou("client"),
            peer_ou_identifier=ou("peer"),
            admin_ou_identifier=ou("admin"),
            orderer_ou_identifier=ou("orderer"),
        ),
    )
    return msp_config_pb2.MSPConfig(type=0, config=fabric.SerializeToString())


def _org_group(layout: CryptoLayout, org: Org, *, orderer: bool) -> configtx_pb2.ConfigGroup:
    g = configtx_pb2.ConfigGroup(mod_policy="Admins")
    g.values["MSP"].CopyFrom(_value(msp_config(layout, org.key)))
    m = org.msp_id
    if orderer:
        g.policies["Readers"].CopyFrom(_signature(signed_by_roles(m, ["member"])))
        g.policies["Writers"].CopyFrom(_signature(signed_by_roles(m, ["member"])))
        g.policies["Admins"].CopyFrom(_signature(signed_by_roles(m, ["admin"])))
        addresses = [o.address for o in layout.topology.orderers]
        g.values["Endpoints"].CopyFrom(
            _value(configuration_pb2.OrdererAddresses(addresses=addresses))
        )
        return g
    g.policies["Readers"].CopyFrom(_signature(signed_by_roles(m, ["admin", "peer", "client"])))
    g.policies["Writers"].CopyFrom(_signature(signed_by_roles(m, writer_roles(org))))
    g.policies["Admins"].CopyFrom(_signature(signed_by_roles(m, ["admin"])))
    g.policies["Endorsement"].CopyFrom(_signature(signed_by_roles(m, ["peer"])))
    peers = [p for p in layout.topology.peers if p.org == org.key]
    if peers:
        anchors = peer_config_pb2.AnchorPeers(
            anchor_peers=[
                peer_config_pb2.AnchorPeer(host=layout.topology.host, port=p.port) for p in peers
            ]
        )
        g.values["AnchorPeers"].CopyFrom(_value(anchors))
    return g


# ---- channel ----------------------------------------------------------------------------------


def channel_endorsement(topology: Topology, channel: str) -> str:
    """The channel's Endorsement/LifecycleEndorsement: all peer orgs but tenants, MAJORITY-like,
    written as a signature policy so that orgs without peers are never required."""
    spec = topology.channel(channel)
    if spec.endorsement:
        return spec.endorsement
    peer_orgs = [topology.orgs[o] for o in spec.orgs if not topology.orgs[o].is_tenant]
    peer_orgs = [o for o in peer_orgs if any(p.org == o.key for p in topology.peers)]
    n = len(peer_orgs) // 2 + 1
    members = ", ".join(f"'{o.msp_id}.peer'" for o in peer_orgs)
    return f"OutOf({n}, {members})"


def build_config(topology: Topology, layout: CryptoLayout, channel: str) -> configtx_pb2.Config:
    spec = topology.channel(channel)
    ospec = topology.spec.orderer

    orderer = configtx_pb2.ConfigGroup(mod_policy="Admins")
    oorg = topology.orderer_org
    orderer.groups[oorg.msp_id].CopyFrom(_org_group(layout, oorg, orderer=True))
    consenters = []
    for node in topology.orderers:
        tls = layout.node_dir(oorg.key, node.host) / "tls" / "server.crt"
        cert = tls.read_bytes()
        consenters.append(
            etcdraft_pb2.Consenter(
                host=topology.host,
                port=node.cluster_port,
                client_tls_cert=cert,
                server_tls_cert=cert,
            )
        )
    raft = etcdraft_pb2.ConfigMetadata(
        consenters=consenters,
        options=etcdraft_pb2.Options(
            tick_interval="500ms",
            election_tick=10,
            heartbeat_tick=1,
            max_inflight_blocks=5,
            snapshot_interval_size=16 * 1024 * 1024,
        ),
    )
    orderer.values["ConsensusType"].CopyFrom(
        _value(
            orderer_config_pb2.ConsensusType(
                type="etcdraft",
                metadata=raft.SerializeToString(),
                state=orderer_config_pb2.ConsensusType.STATE_NORMAL,
            )
        )
    )
    orderer.values["BatchSize"].CopyFrom(
        _value(
            orderer_config_pb2.BatchSize(
                max_message_count=ospec.max_message_count,
                absolute_max_bytes=ospec.absolute_max_bytes,
                preferred_max_bytes=ospec.preferred_max_bytes,
            )
        )
    )
    orderer.values["BatchTimeout"].CopyFrom(
        _value(orderer_config_pb2.BatchTimeout(timeout=ospec.batch_timeout))
    )
    orderer.values["Capabilities"].CopyFrom(_capabilities(ORDERER_CAPABILITY))
    orderer.values["ChannelRestrictions"].CopyFrom(_value(orderer_config_pb2.ChannelRestrictions()))
    _standard_policies(orderer)
    orderer.policies["BlockValidation"].CopyFrom(_implicit("ANY", "Writers"))

    app = configtx_pb2.ConfigGroup(mod_policy="Admins")
    for key in spec.orgs:
        org = topology.orgs[key]
        app.groups[org.msp_id].CopyFrom(_org_group(layout, org, orderer=False))
    _standard_policies(app)
    endorsement = _signature(signature_policy_from_string(channel_endorsement(topology, channel)))
    app.policies["Endorsement"].CopyFrom(endorsement)
    app.policies["LifecycleEndorsement"].CopyFrom(endorsement)
    acls = peer_config_pb2.ACLs()
    for name, ref in DEFAULT_ACLS.items():
        acls.acls[name].policy_ref = ref
    app.values["ACLs"].CopyFrom(_value(acls))
    app.values["Capabilities"].CopyFrom(_capabilities(APPLICATION_CAPABILITY))

    root = configtx_pb2.ConfigGroup(mod_policy="Admins")
    root.groups["Orderer"].CopyFrom(orderer)
    root.groups["Application"].CopyFrom(app)
    root.values["HashingAlgorithm"].CopyFrom(
        _value(configuration_pb2.HashingAlgorithm(name="SHA256"))
    )
    root.values["BlockDataHashingStructure"].CopyFrom(
        _value(configuration_pb2.BlockDataHashingStructure(width=0xFFFFFFFF))
    )
    root.values["Capabilities"].CopyFrom(_capabilities(CHANNEL_CAPABILITY))
    _standard_policies(root)
    return configtx_pb2.Config(sequence=0, channel_group=root)


def genesis_block(
    channel: str, config: configtx_pb2.Config, timestamp: float | None = None
) -> common_pb2.Block:
    """Block 0 exactly as configtxgen's genesis factory makes it."""
    nonce = os.urandom(24)
    sig_header = common_pb2.SignatureHeader(creator=b"", nonce=nonce)
    ts = int(time.time() if timestamp is None else timestamp)
    ch_header = common_pb2.ChannelHeader(
        type=common_pb2.CONFIG,
        version=MSG_VERSION,
        channel_id=channel,
        epoch=0,
        tx_id=hashlib.sha256(nonce).hexdigest(),
    )
    ch_header.timestamp.seconds = ts
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=ch_header.SerializeToString(),
            signature_header=sig_header.SerializeToString(),
        ),
        data=configtx_pb2.ConfigEnvelope(config=config).SerializeToString(),
    )
    envelope = common_pb2.Envelope(payload=payload.SerializeToString())
    block = common_pb2.Block(
        header=common_pb2.BlockHeader(number=0, previous_hash=b""),
        data=common_pb2.BlockData(data=[envelope.SerializeToString()]),
        metadata=common_pb2.BlockMetadata(
            metadata=[b""] * len(common_pb2.BlockMetadataIndex.keys())
        ),
    )
    block.header.data_hash = hashlib.sha256(b"".join(block.data.data)).digest()
    last_config = common_pb2.LastConfig(index=0)
    block.metadata.metadata[common_pb2.LAST_CONFIG] = common_pb2.Metadata(
        value=last_config.SerializeToString()
    ).SerializeToString()
    block.metadata.metadata[common_pb2.SIGNATURES] = common_pb2.Metadata(
        value=common_pb2.OrdererBlockMetadata(last_config=last_config).SerializeToString()
    ).SerializeToString()
    return block


def build_genesis_block(topology: Topology, channel: str, crypto_dir: Path) -> common_pb2.Block:
    layout = CryptoLayout(topology, crypto_dir)
    return genesis_block(channel, build_config(topology, layout, channel))


def write_genesis_blocks(topology: Topology, crypto_dir: Path, out_dir: Path) -> dict[str, Path]:
    """Write `<channel>.block` for every channel; existing blocks are kept (a channel's
    genesis block never changes once a ledger has started from it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for channel in topology.channels:
        path = out_dir / f"{channel}.block"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(build_genesis_block(topology, channel, crypto_dir).SerializeToString())
            os.replace(tmp, path)
        written[channel] = path
    return written


# ---- configtx.yaml ---------------------------------------------------------------------------


def configtx_yaml(topology: Topology, layout: CryptoLayout) -> dict[str, Any]:
    """The same channels as a configtx.yaml document, for people who run configtxgen."""

    def org_entry(org: Org) -> dict[str, Any]:
        m = org.msp_id
        orderer = org.kind == "orderer"
        e: dict[str, Any] = {
            "Name": m,
            "ID": m,
            "MSPDir": str(layout.org_msp(org.key)),
            "Policies": {
                "Readers": {
                    "Type": "Signature",
                    "Rule": f"OR('{m}.member')"
                    if orderer
                    else f"OR('{m}.admin', '{m}.peer', '{m}.client')",
                },
                "Writers": {
                    "Type": "Signature",
                    "Rule": f"OR('{m}.member')"
                    if orderer
                    else "OR(" + ", ".join(f"'{m}.{r}'" for r in writer_roles(org)) + ")",
                },
                "Admins": {"Type": "Signature", "Rule": f"OR('{m}.admin')"},
            },
        }
        if orderer:
            e["OrdererEndpoints"] = [o.address for o in topology.orderers]
        else:
            e["Policies"]["Endorsement"] = {"Type": "Signature", "Rule": f"OR('{m}.peer')"}
            peers = [p for p in topology.peers if p.org == org.key]
            if peers:
                e["AnchorPeers"] = [{"Host": topology.host, "Port": p.port} for p in peers]
        return e

    meta: dict[str, Any] = {
        "Readers": {"Type": "ImplicitMeta", "Rule": "ANY Readers"},
        "Writers": {"Type": "ImplicitMeta", "Rule": "ANY Writers"},
        "Admins": {"Type": "ImplicitMeta", "Rule": "MAJORITY Admins"},
    }
    ospec = topology.spec.orderer
    oorg = topology.orderer_org
    orderer_section = {
        "OrdererType": "etcdraft",
        "EtcdRaft": {
            "Consenters": [
                {
                    "Host": topology.host,
                    "Port": o.cluster_port,
                    "ClientTLSCert": str(layout.node_dir(oorg.key, o.host) / "tls" / "server.crt"),
                    "ServerTLSCert": str(layout.node_dir(oorg.key, o.host) / "tls" / "server.crt"),
                }
                for o in topology.orderers
            ]
        },
        "BatchTimeout": ospec.batch_timeout,
        "BatchSize": {
            "MaxMessageCount": ospec.max_message_count,
            "AbsoluteMaxBytes": ospec.absolute_max_bytes,
            "PreferredMaxBytes": ospec.preferred_max_bytes,
        },
        "Organizations": [org_entry(oorg)],
        "Policies": {**meta, "BlockValidation": {"Type": "ImplicitMeta", "Rule": "ANY Writers"}},
        "Capabilities": {ORDERER_CAPABILITY: True},
    }
    profiles = {}
    for name, ch in topology.channels.items():
        endorsement: dict[str, str] = {
            "Type": "Signature",
            "Rule": channel_endorsement(topology, name),
        }
        profiles[name] = {
            "Policies": meta,
            "Capabilities": {CHANNEL_CAPABILITY: True},
            "Orderer": orderer_section,
            "Application": {
                "Organizations": [org_entry(topology.orgs[o]) for o in ch.orgs],
                "Policies": {
                    **meta,
                    "Endorsement": endorsement,
                    "LifecycleEndorsement": endorsement,
                },
                "ACLs": DEFAULT_ACLS,
                "Capabilities": {APPLICATION_CAPABILITY: True},
            },
        }
    return {"Profiles": profiles}


def write_configtx_yaml(topology: Topology, crypto_dir: Path, path: Path) -> Path:
    doc = configtx_yaml(topology, CryptoLayout(topology, crypto_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    # configtxgen wants plain YAML; aliases would only obscure it
    path.write_text(yaml.dump(doc, sort_keys=False, Dumper=_NoAliases))
    return path


class _NoAliases(yamlio.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True
