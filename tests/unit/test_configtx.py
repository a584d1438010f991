"""Genesis config blocks decode into exactly the orgs, policies and batch settings of the topology."""

from __future__ import annotations

import hashlib

from fabric_protos.common import common_pb2, configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import msp_config_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2

from network.configtx import build_genesis_block, channel_endorsement, configtx_yaml
from network.identities import CryptoLayout
from network.topology import Topology


def _config(block: common_pb2.Block) -> configtx_pb2.Config:
    env = common_pb2.Envelope.FromString(block.data.data[0])
    payload = common_pb2.Payload.FromString(env.payload)
    ch = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    assert ch.type == common_pb2.CONFIG
    return configtx_pb2.ConfigEnvelope.FromString(payload.data).config


def test_configtx_block_is_a_valid_genesis_block(topology: Topology, crypto: CryptoLayout) -> None:
    block = build_genesis_block(topology, "bsp1-channel", crypto.root)
    assert block.header.number == 0 and block.header.previous_hash == b""
    assert block.header.data_hash == hashlib.sha256(b"".join(block.data.data)).digest()
    assert len(block.metadata.metadata) == 5
    env = common_pb2.Envelope.FromString(block.data.data[0])
    ch = common_pb2.ChannelHeader.FromString(
        common_pb2.Payload.FromString(env.payload).header.channel_header
    )
    assert ch.channel_id == "bsp1-channel"


def test_configtx_application_orgs_match_the_channel(
    topology: Topology, crypto: CryptoLayout
) -> None:
    for name, ch in topology.channels.items():
        cfg = _config(build_genesis_block(topology, name, crypto.root))
        app = cfg.channel_group.groups["Application"]
        assert set(app.groups) == {topology.orgs[o].msp_id for o in ch.orgs}
        for o in ch.orgs:
            org = topology.orgs[o]
            group = app.groups[org.msp_id]
            msp = msp_config_pb2.FabricMSPConfig.FromString(
                msp_config_pb2.MSPConfig.FromString(group.values["MSP"].value).config
            )
            assert msp.name == org.msp_id
            assert msp.root_certs == [crypto.ca_cert(o).read_bytes()]
            assert msp.fabric_node_ous.enable
            runs_peers = any(p.org == o for p in topology.peers)
            assert ("AnchorPeers" in group.values) == runs_peers


def test_configtx_tenants_write_but_never_endorse(topology: Topology, crypto: CryptoLayout) -> None:
    cfg = _config(build_genesis_block(topology, "bsp1-channel", crypto.root))
    app = cfg.channel_group.groups["Application"]
    writers = policies_pb2.SignaturePolicyEnvelope.FromString(
        app.groups["BSP1MSP"].policies["Writers"].policy.value
    )
    roles = {msp_principal_pb2.MSPRole.FromString(i.principal).role for i in writers.identities}
    assert msp_principal_pb2.MSPRole.CLIENT in roles
    endorsement = app.policies["Endorsement"].policy
    assert endorsement.type == policies_pb2.Policy.SIGNATURE
    env = policies_pb2.SignaturePolicyEnvelope.FromString(endorsement.value)
    msps = {
        msp_principal_pb2.MSPRole.FromString(i.principal).msp_identifier for i in env.identities
    }
    assert msps == {"TSOMSP", "BSPHostMSP", "DSOHostMSP"}
    assert "TSOMSP" in channel_endorsement(topology, "bsp1-channel")


def test_configtx_auditor_reads_every_channel_and_writes_none(
    topology: Topology, crypto: CryptoLayout
) -> None:
    auditor = next(o for o in topology.orgs.values() if o.role == "AUDITOR")
    assert not auditor.writer
    role = msp_principal_pb2.MSPRole
    for name in topology.channels:
        cfg = _config(build_genesis_block(topology, name, crypto.root))
        group = cfg.channel_group.groups["Application"].groups[auditor.msp_id]

        def principals(policy: str) -> set[tuple[str, int]]:
            env = policies_pb2.SignaturePolicyEnvelope.FromString(
                group.policies[policy].policy.value  # noqa: B023
            )
            roles = [role.FromString(i.principal) for i in env.identities]
            return {(r.msp_identifier, r.role) for r in roles}

        assert (auditor.msp_id, role.CLIENT) in principals("Readers"), name
        # only orderer nodes of its own, which it never has: no identity of it is a Writer
        assert principals("Writers") == {(auditor.msp_id, role.ORDERER)}, name
    yaml_org = next(
        o
        for o in configtx_yaml(topology, crypto)["Profiles"]["bsp1-channel"]["Application"][
            "Organizations"
        ]
        if o["ID"] == auditor.msp_id
    )
    assert yaml_org["Policies"]["Writers"]["Rule"] == f"OR('{auditor.msp_id}.orderer')"


def test_configtx_orderer_batch_and_raft(topology: Topology, crypto: CryptoLayout) -> None:
    cfg = _config(build_genesis_block(topology, "p2p-trading", crypto.root))
    orderer = cfg.channel_group.groups["Orderer"]
    batch = orderer_pb2.BatchSize.FromString(orderer.values["BatchSize"].value)
    assert batch.max_message_count == topology.spec.orderer.max_message_count
    assert batch.absolute_max_bytes == topology.spec.orderer.absolute_max_bytes
    timeout = orderer_pb2.BatchTimeout.FromString(orderer.values["BatchTimeout"].value)
    assert timeout.timeout == topology.spec.orderer.batch_timeout
    ctype = orderer_pb2.ConsensusType.FromString(orderer.values["ConsensusType"].value)
    assert ctype.type == "etcdraft"
    raft = etcdraft_pb2.ConfigMetadata.FromString(ctype.metadata)
    assert [c.port for c in raft.consenters] == [o.cluster_port for o in topology.orderers]
    assert set(orderer.groups) == {"OrdererMSP"}
    assert "BlockValidation" in orderer.policies
    caps = configuration_pb2.Capabilities.FromString(cfg.channel_group.values["Capabilities"].value)
    assert set(caps.capabilities) == {"V3_0"}
