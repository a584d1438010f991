"""`_lifecycle` on embedded peers: Fabric's state layout, approvals, readiness, commit, queries.

The byte strings below are what a real Fabric v3.1.5 peer wrote for the same definitions in
the `fabric` tier's network (its `_lifecycle` writes for `registry`); the flows run the real
endorsers and ledgers of three peers (only the chaincode stream and orderer are stand-ins).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_fixtures import CC, CHANNEL, Chain
from embedded_peer_fixtures import PeerNet, build_net, close_nets, signed_proposal
from fabric_protos.peer import proposal_response_pb2, transaction_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from network.ccaas import build_package, package_id
from network.embedded import protoutil
from network.embedded.lifecycle import serializer as ser
from network.embedded.lifecycle.definition import (
    NAMESPACE,
    ChaincodeDefinition,
    definition_for,
    implicit_collection,
    package_id_hash,
)
from network.embedded.lifecycle.packages import PackageError, PackageStore, parse_package
from network.embedded.rwset import key_hash

Code = transaction_pb2.TxValidationCode
POLICY = "OR('TSOMSP.peer', 'BSPHostMSP.peer', 'DSOHostMSP.peer')"
ORGS = ("tso", "bsphost", "dsohost")


@pytest.fixture(autouse=True)
def _close_nets() -> Iterator[None]:
    yield
    close_nets()


@pytest.fixture(scope="module")
def chain(topology, crypto) -> Chain:  # type: ignore[no-untyped-def]
    return Chain(topology, crypto)


@pytest.fixture
def net(chain: Chain, tmp_path: Path) -> PeerNet:
    return build_net(chain, tmp_path, lifecycle=True)


def _package(address: str = "127.0.0.1:9997") -> tuple[str, bytes]:
    conn = json.dumps({"address": address, "dial_timeout": "10s", "tls_required": False}).encode()
    data = build_package(conn, "smoke_1.0")
    return package_id("smoke_1.0", data), data


def _definition(sequence: int = 1, version: str = "1.0") -> ChaincodeDefinition:
    return definition_for(CC, version, sequence, POLICY, [])


def _args(d: ChaincodeDefinition, cls: type) -> bytes:
    return cls(  # type: ignore[no-any-return]
        sequence=d.sequence,
        name=d.name,
        version=d.version,
        validation_parameter=d.validation_parameter,
    ).SerializeToString()


def _call(
    net: PeerNet, chain: Chain, admin_org: str, peers: tuple[str, ...], fn: str, arg: bytes
) -> tuple[list[proposal_response_pb2.ProposalResponse], bytes]:
    """Propose `_lifecycle.fn(arg)` as `admin_org`'s admin to `peers`; the responses and the
    transaction assembled from them (empty when one refused)."""
    admin = chain.user(admin_org, "Admin")
    signed, _ = signed_proposal(admin, [fn.encode(), arg], chaincode=NAMESPACE)
    responses = [asyncio.run(net.peers[org].endorser.process_proposal(signed))[0] for org in peers]
    if any(r.response.status != 200 for r in responses):
        return responses, b""
    prop = protoutil.unpack_proposal(signed)
    env = protoutil.create_signed_tx(prop.proposal, responses, admin.sign)
    return responses, env.SerializeToString()


def _approve(net: PeerNet, chain: Chain, org: str, d: ChaincodeDefinition, pkg: str) -> int:
    args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(
        _args(d, lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs)
    )
    args.source.local_package.package_id = pkg
    responses, env = _call(
        net, chain, org, (org,), "ApproveChaincodeDefinitionForMyOrg", args.SerializeToString()
    )
    assert env, responses[0].response.message
    return net.commit(env)[0]


def _commit_definition(
    net: PeerNet, chain: Chain, d: ChaincodeDefinition, peers: tuple[str, ...] = ORGS
) -> tuple[list[proposal_response_pb2.ProposalResponse], list[int]]:
    responses, env = _call(
        net,
        chain,
        "tso",
        peers,
        "CommitChaincodeDefinition",
        _args(d, lifecycle_pb2.CommitChaincodeDefinitionArgs),
    )
    return responses, (net.commit(env) if env else [])


# --- the state layout ---------------------------------------------------------------------------


def test_lifecycle_fields_encode_as_fabric_writes_them(topology) -> None:  # type: ignore[no-untyped-def]
    cc = topology.chaincodes["registry"]
    d = definition_for("registry", cc.version, cc.sequence, cc.endorsement, [])
    fields = {f: ser.encode_field(v).hex() for f, v in d.structure().fields}
    assert fields["Sequence"] == "0801"
    assert fields["EndorsementInfo"] == "120b0a03312e301a0465736363"
    assert fields["Collections"] == "1200"
    assert fields["ValidationInfo"].startswith("12540a0476736363124c0a4a12161214080212020802")
    assert (
        ser.encode_metadata(d.structure())
        .hex()
        .startswith("0a13436861696e636f6465446566696e6974696f6e120853657175656e6365")
    )
    assert ser.metadata_key("namespaces", "registry") == "namespaces/metadata/registry"
    assert ser.field_key("namespaces", "smoke#2", "Collections") == (
        "namespaces/fields/smoke#2/Collections"
    )


class _Dict:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.puts: list[str] = []
        self.deletes: list[str] = []
        self.collection = "_implicit_org_TSOMSP"

    def get_state(self, key: str) -> bytes | None:
        return self.data.get(key)

    def put_state(self, key: str, value: bytes) -> None:
        self.data[key] = value
        self.puts.append(key)

    def del_state(self, key: str) -> None:
        self.data.pop(key, None)
        self.deletes.append(key)

    def get_state_hash(self, key: str) -> bytes | None:
        import hashlib

        v = self.data.get(key)
        return hashlib.sha256(v).digest() if v is not None else None


def test_serializer_writes_only_what_changed() -> None:
    state = _Dict()
    ser.serialize("namespaces", CC, _definition(1).structure(), state)
    assert len(state.puts) == 5  # four fields and the metadata
    state.puts.clear()
    ser.serialize("namespaces", CC, _definition(1).structure(), state)
    assert state.puts == []  # the same definition again: nothing to write
    ser.serialize("namespaces", CC, _definition(2).structure(), state)
    assert state.puts == ["namespaces/fields/smoke/Sequence"]  # an upgrade writes one key


def test_is_serialized_names_the_mismatched_fields() -> None:
    state = _Dict()
    ser.serialize("namespaces", "smoke#1", _definition(1).parameters(), state)
    assert ser.is_serialized("namespaces", "smoke#1", _definition(1).parameters(), state) == (
        True,
        [],
    )
    other = _definition(1, version="2.0").parameters()
    assert ser.is_serialized("namespaces", "smoke#1", other, state) == (False, ["EndorsementInfo"])
    assert ser.is_serialized("namespaces", "smoke#2", other, state) == (
        False,
        ["ChaincodeParameters"],
    )


# --- approve, readiness, commit through the endorsers -------------------------------------------


def test_approval_goes_to_the_orgs_implicit_collection(net: PeerNet, chain: Chain) -> None:
    pkg, _ = _package()
    assert _approve(net, chain, "tso", _definition(), pkg) == Code.VALID
    coll = implicit_collection("TSOMSP")
    for org in ORGS:  # every peer holds the hashes...
        state = net.peers[org].channels[CHANNEL].ledger.state
        hv = state.get_hashed(
            NAMESPACE, coll, key_hash("chaincode-sources/fields/smoke#1/PackageID")
        )
        assert hv is not None and hv.value == package_id_hash(pkg)
    # ...only the TSO's keeps the values (the private data of its org)
    tso = net.peers["tso"].channels[CHANNEL].ledger
    assert tso.get_private_data(NAMESPACE, coll, "chaincode-sources/fields/smoke#1/PackageID")
    host = net.peers["bsphost"].channels[CHANNEL].ledger
    assert host.get_private_data(NAMESPACE, coll, "namespaces/metadata/smoke#1") is None


def test_approve_is_for_the_peers_own_org_admins(net: PeerNet, chain: Chain) -> None:
    args = _args(_definition(), lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs)
    responses, env = _call(
        net, chain, "bsphost", ("tso",), "ApproveChaincodeDefinitionForMyOrg", args
    )
    assert not env
    message = responses[0].response.message
    assert message.startswith("Failed to authorize invocation due to failed ACL check: ")
    assert "channelless check policy with policy [Admins]" in message


def test_commit_readiness_and_commit_need_each_endorsers_approval(
    net: PeerNet, chain: Chain
) -> None:
    pkg, data = _package()
    d = _definition()
    for org in ("tso", "bsphost"):
        assert _approve(net, chain, org, d, pkg) == Code.VALID
    readiness, _ = _call(
        net,
        chain,
        "tso",
        ("tso",),
        "CheckCommitReadiness",
        _args(d, lifecycle_pb2.CheckCommitReadinessArgs),
    )
    result = lifecycle_pb2.CheckCommitReadinessResult.FromString(readiness[0].response.payload)
    assert dict(result.approvals) == {  # every org of the channel, the auditor's included
        "ARETIMSP": False,
        "BSP1MSP": False,
        "BSPHostMSP": True,
        "DSOHostMSP": False,
        "RegulatorMSP": False,
        "TSOMSP": True,
    }
    assert list(result.mismatches["DSOHostMSP"].items) == ["ChaincodeParameters"]
    # the DSO host's peer has not its org's approval: it will not endorse the commit
    responses, codes = _commit_definition(net, chain, d)
    assert codes == []
    assert responses[2].response.message == (
        "failed to invoke backing implementation of 'CommitChaincodeDefinition': "
        "chaincode definition not agreed to by this org (DSOHostMSP)"
    )
    _, codes = _commit_definition(net, chain, d, peers=("tso", "bsphost"))
    assert codes == [Code.VALID]
    committed = net.peers["dsohost"].channels[CHANNEL].definition(CC)
    assert committed is not None and committed.sequence == 1
    # defined now, but the DSO host's peer neither approved nor installed: it does not run it
    signed, _ = signed_proposal(chain.user("tso"), [b"Put", b"k", b"v"])
    response, _ = asyncio.run(net.peers["dsohost"].endorser.process_proposal(signed))
    assert "has not yet been approved by this org" in response.response.message
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    assert response.response.message.endswith(
        "chaincode definition for 'smoke' exists, but chaincode is not installed"
    )
    net.peers["tso"].packages.install(data)
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    assert response.response.status == 200 and response.endorsement.signature


def test_commit_with_a_wrong_sequence_is_refused(net: PeerNet, chain: Chain) -> None:
    responses, codes = _commit_definition(net, chain, _definition(sequence=2))
    assert codes == []
    assert responses[0].response.message.endswith(
        "requested sequence is 2, but new definition must be sequence 1"
    )


def test_query_chaincode_definition_lists_each_orgs_approval(net: PeerNet, chain: Chain) -> None:
    pkg, _ = _package()
    d = _definition()
    for org in ORGS:
        _approve(net, chain, org, d, pkg)
    _commit_definition(net, chain, d)
    arg = lifecycle_pb2.QueryChaincodeDefinitionArgs(name=CC).SerializeToString()
    responses, _ = _call(net, chain, "tso", ("tso",), "QueryChaincodeDefinition", arg)
    result = lifecycle_pb2.QueryChaincodeDefinitionResult.FromString(responses[0].response.payload)
    assert result.sequence == 1 and result.version == "1.0"
    assert {k for k, v in result.approvals.items() if v} == {"TSOMSP", "BSPHostMSP", "DSOHostMSP"}
    missing = lifecycle_pb2.QueryChaincodeDefinitionArgs(name="nope").SerializeToString()
    responses, _ = _call(net, chain, "tso", ("tso",), "QueryChaincodeDefinition", missing)
    assert responses[0].response.status == 404
    assert responses[0].response.message == "namespace nope is not defined"


def test_reapproving_the_same_definition_and_package_is_refused(net: PeerNet, chain: Chain) -> None:
    pkg, _ = _package()
    d = _definition()
    _approve(net, chain, "tso", d, pkg)
    args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(
        _args(d, lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs)
    )
    args.source.local_package.package_id = pkg
    responses, _ = _call(
        net, chain, "tso", ("tso",), "ApproveChaincodeDefinitionForMyOrg", args.SerializeToString()
    )
    assert responses[0].response.message.endswith(
        "attempted to redefine uncommitted sequence (1) for namespace smoke with unchanged content"
    )


# --- proposals without a channel -------------------------------------------------------------


def test_installed_packages_answer_without_a_channel(net: PeerNet, chain: Chain) -> None:
    pkg, data = _package()
    admin = chain.user("tso", "Admin")
    install = lifecycle_pb2.InstallChaincodeArgs(chaincode_install_package=data)
    signed, _ = signed_proposal(
        admin, [b"InstallChaincode", install.SerializeToString()], channel="", chaincode=NAMESPACE
    )
    response, err = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    assert err is None and response.response.status == 200
    assert not response.endorsement.signature  # nothing to submit without a channel
    result = lifecycle_pb2.InstallChaincodeResult.FromString(response.response.payload)
    assert (result.package_id, result.label) == (pkg, "smoke_1.0")
    query = lifecycle_pb2.QueryInstalledChaincodesArgs().SerializeToString()
    signed, _ = signed_proposal(
        admin, [b"QueryInstalledChaincodes", query], channel="", chaincode=NAMESPACE
    )
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    listed = lifecycle_pb2.QueryInstalledChaincodesResult.FromString(response.response.payload)
    assert [c.package_id for c in listed.installed_chaincodes] == [pkg]
    # an application chaincode has no meaning without a channel
    signed, _ = signed_proposal(admin, [b"Put", b"k", b"v"], channel="")
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    assert response.response.status == 500


def test_cscc_get_channels_and_qscc_by_argument_without_a_channel(
    net: PeerNet, chain: Chain
) -> None:
    from fabric_protos.common import ledger_pb2
    from fabric_protos.peer import query_pb2

    user = chain.user("tso")
    signed, _ = signed_proposal(user, [b"GetChannels"], channel="", chaincode="cscc")
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    channels = query_pb2.ChannelQueryResponse.FromString(response.response.payload)
    assert [c.channel_id for c in channels.channels] == [CHANNEL]
    signed, _ = signed_proposal(
        user, [b"GetChainInfo", CHANNEL.encode()], channel="", chaincode="qscc"
    )
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    info = ledger_pb2.BlockchainInfo.FromString(response.response.payload)
    assert info.height == net.peers["tso"].channels[CHANNEL].ledger.height
    # another org's identity is not a member of this peer's own MSP
    other, _ = signed_proposal(
        chain.user("bsphost"), [b"GetChannels"], channel="", chaincode="cscc"
    )
    response, _ = asyncio.run(net.peers["tso"].endorser.process_proposal(other))
    assert response.response.status == 500 or response.response.message


# --- packages ----------------------------------------------------------------------------------


def test_package_store_parses_installs_and_refuses(tmp_path: Path) -> None:
    pkg, data = _package()
    store = PackageStore(tmp_path / "chaincodes")
    installed = store.install(data)
    assert installed.package_id == pkg and installed.connection is not None
    assert installed.connection.address == "127.0.0.1:9997"
    with pytest.raises(PackageError, match="already successfully installed"):
        store.install(data)
    again = PackageStore(tmp_path / "chaincodes")  # what a restarted peer finds on disk
    assert [p.package_id for p in again.installed()] == [pkg]
    assert again.by_id_hash(package_id_hash(pkg)) is not None
    assert (tmp_path / "chaincodes").iterdir().__next__().stat().st_mode & 0o077 == 0
    with pytest.raises(PackageError, match="could not parse as a chaincode install package"):
        store.install(b"not a package")
    with pytest.raises(PackageError, match="invalid label"):
        parse_package(build_package(b"{}", "-bad label"))


def test_an_earlier_engines_ledger_is_refused_with_the_way_out(
    chain: Chain, tmp_path: Path
) -> None:
    """Ledgers from before Fabric's layout held `namespaces/fields/<cc>/Definition`."""
    from network.embedded import deploy
    from network.embedded.statedb import StateDB, UpdateBatch

    net = build_net(chain, tmp_path, lifecycle=True)
    for peer in net.peers.values():
        state = peer.channels[CHANNEL].ledger.state
        b = UpdateBatch()
        b.put(NAMESPACE, "namespaces/fields/smoke/Definition", b"old", (1, 0))
        b.put(NAMESPACE, "namespaces/fields/smoke/Sequence", b"\x08\x01", (1, 0))
        with state.transaction() as conn:
            StateDB.apply(conn, b, 1)

    class Topo:
        channels = {CHANNEL: type("C", (), {"chaincodes": [CC]})()}
        chaincodes = {
            CC: type(
                "S", (), {"version": "1.0", "sequence": 1, "endorsement": POLICY, "collections": []}
            )()
        }

        def chaincode_on(self, name: str, channel: str) -> object:
            return self.chaincodes[name]  # no collection policy to resolve per channel

    with pytest.raises(deploy.DeployError, match="`cbp network reset` starts a new network"):
        asyncio.run(
            deploy.deploy(list(net.peers.values()), net.orderer, Topo(), {}, {CC: "smoke_1.0:x"})  # type: ignore[arg-type]
        )
