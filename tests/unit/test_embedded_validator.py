from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from embedded_fixtures import CC, Chain, endorse, smoke_definition
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import transaction_pb2

from network.embedded import protoutil
from network.embedded.lifecycle import ChaincodeDefinition
from network.embedded.policydsl import from_string
from network.embedded.rwset import TxSimulator
from network.embedded.validator import VALIDATION_PARAMETER

Code = transaction_pb2.TxValidationCode


class Net:
    """One peer ledger plus the orderer's block factory."""

    def __init__(
        self, chain: Chain, path: Path, definition: ChaincodeDefinition, msp_id: str | None = None
    ):
        self.chain = chain
        self.definition = definition
        self.ledger = chain.open_ledger(
            path, msp_id=msp_id, chaincode_definitions=lambda n: definition if n == CC else None
        )
        self.factory = chain.factory(self.ledger)

    def tx(self, simulate, endorsers=("tso",), creator=("bsp1", "User1"), **kw) -> bytes:  # type: ignore[no-untyped-def]
        e = endorse(
            self.ledger,
            self.chain.user(*creator),
            [self.chain.peer(o) for o in endorsers],
            simulate,
            **kw,
        )
        return e.envelope

    def commit(self, *envs: bytes, private=None) -> list[int]:  # type: ignore[no-untyped-def]
        return self.ledger.commit(self.factory.make_block(list(envs)), private)


@pytest.fixture
def net(chain: Chain, tmp_path: Path) -> Net:
    return Net(chain, tmp_path / "peer", smoke_definition())


def put(key: str, value: bytes):  # type: ignore[no-untyped-def]
    def sim(s: TxSimulator) -> None:
        s.get_state(CC, key)
        s.put_state(CC, key, value)

    return sim


def test_validator_valid_tx_updates_state_and_history(net: Net) -> None:
    assert net.commit(net.tx(put("a", b"1"))) == [Code.VALID]
    assert net.ledger.get_state(CC, "a") == b"1"
    assert [h.value for h in net.ledger.get_history(CC, "a")] == [b"1"]


def test_validator_concurrent_conflicting_updates_one_valid_one_mvcc(net: Net) -> None:
    net.commit(net.tx(put("a", b"0")))
    t1, t2 = net.tx(put("a", b"1")), net.tx(put("a", b"2"))
    assert net.commit(t1, t2) == [Code.VALID, Code.MVCC_READ_CONFLICT]
    assert net.ledger.get_state(CC, "a") == b"1"
    # a stale read across blocks is a conflict too
    stale = net.tx(put("a", b"3"))
    net.commit(net.tx(put("a", b"4")))
    assert net.commit(stale) == [Code.MVCC_READ_CONFLICT]


def test_validator_read_of_absent_key_conflicts_once_it_exists(net: Net) -> None:
    t1, t2 = net.tx(put("new", b"1")), net.tx(put("new", b"2"))
    assert net.commit(t1) == [Code.VALID]
    assert net.commit(t2) == [Code.MVCC_READ_CONFLICT]


def _range(start: str, end: str, write: str):  # type: ignore[no-untyped-def]
    def sim(s: TxSimulator) -> None:
        s.get_state_range(CC, start, end)
        s.put_state(CC, write, b"x")

    return sim


def test_validator_phantom_read_across_and_within_blocks(net: Net) -> None:
    net.commit(net.tx(put("k1", b"1")), net.tx(put("k3", b"3")))
    scan = net.tx(_range("k0", "k9", "out1"))
    net.commit(net.tx(put("k2", b"2")))
    assert net.commit(scan) == [Code.PHANTOM_READ_CONFLICT]
    insert, scan2 = net.tx(put("k4", b"4")), net.tx(_range("k0", "k9", "out2"))
    assert net.commit(insert, scan2) == [Code.VALID, Code.PHANTOM_READ_CONFLICT]
    # a write outside the range does not disturb the scan
    scan3, outside = net.tx(_range("k0", "k9", "out3")), net.tx(put("z", b"z"))
    assert net.commit(outside, scan3) == [Code.VALID, Code.VALID]


def test_validator_paginated_scan_checks_only_what_it_read(net: Net) -> None:
    net.commit(*[net.tx(put(f"p{i}", b"v")) for i in range(5)])

    def page(s: TxSimulator) -> None:
        it = s.range_iterator(CC, "p0", "p9", limit=2)
        assert [k for k, _ in it] == ["p0", "p1"]

    tx = net.tx(page)
    net.commit(net.tx(put("p3", b"changed")))  # beyond the page
    assert net.commit(tx) == [Code.VALID]


def test_validator_duplicate_txid_in_block_and_on_ledger(net: Net) -> None:
    first = net.tx(put("d", b"1"), nonce=b"same-nonce")
    again = net.tx(put("e", b"1"), nonce=b"same-nonce")
    assert net.commit(first, again) == [Code.VALID, Code.DUPLICATE_TXID]
    assert net.commit(net.tx(put("f", b"1"), nonce=b"same-nonce")) == [Code.DUPLICATE_TXID]
    assert net.ledger.get_state(CC, "e") is None


def test_validator_forged_creator_signature(net: Net, chain: Chain) -> None:
    env = common_pb2.Envelope.FromString(net.tx(put("x", b"1")))
    env.signature = chain.user("bsp1", "Admin").sign(env.payload)
    assert net.commit(env.SerializeToString()) == [Code.BAD_CREATOR_SIGNATURE]


def test_validator_creator_outside_channel(net: Net) -> None:
    env = net.tx(put("x", b"1"), creator=("infraop", "User1"))
    assert net.commit(env) == [Code.BAD_CREATOR_SIGNATURE]


def test_validator_endorsements_short_of_policy(chain: Chain, tmp_path: Path) -> None:
    net = Net(chain, tmp_path / "p", smoke_definition("AND('TSOMSP.peer', 'BSPHostMSP.peer')"))
    assert net.commit(net.tx(put("a", b"1"), endorsers=("tso",))) == [
        Code.ENDORSEMENT_POLICY_FAILURE
    ]
    assert net.commit(net.tx(put("a", b"1"), endorsers=("tso", "tso"))) == [
        Code.ENDORSEMENT_POLICY_FAILURE
    ]
    assert net.commit(net.tx(put("a", b"1"), endorsers=("tso", "bsphost"))) == [Code.VALID]


def test_validator_forged_endorsement_does_not_count(chain: Chain, tmp_path: Path) -> None:
    net = Net(chain, tmp_path / "p", smoke_definition("OR('TSOMSP.peer')"))
    env = common_pb2.Envelope.FromString(net.tx(put("a", b"1")))
    payload = common_pb2.Payload.FromString(env.payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    cap = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
    cap.action.endorsements[0].signature = chain.peer("bsphost").sign(b"something else")
    tx.actions[0].payload = cap.SerializeToString()
    payload.data = tx.SerializeToString()
    env.payload = payload.SerializeToString()
    env.signature = chain.user("bsp1").sign(env.payload)
    assert net.commit(env.SerializeToString()) == [Code.ENDORSEMENT_POLICY_FAILURE]


def test_validator_malformed_envelopes(net: Net, chain: Chain) -> None:
    garbage_payload = common_pb2.Envelope(payload=b"\xff\x01", signature=b"s").SerializeToString()
    assert net.commit(garbage_payload, b"") == [Code.BAD_PAYLOAD, Code.NIL_ENVELOPE]


def test_validator_txid_must_derive_from_nonce_and_creator(net: Net, chain: Chain) -> None:
    env = common_pb2.Envelope.FromString(net.tx(put("a", b"1")))
    payload = common_pb2.Payload.FromString(env.payload)
    chdr = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    chdr.tx_id = "0" * 64
    payload.header.channel_header = chdr.SerializeToString()
    env.payload = payload.SerializeToString()
    env.signature = chain.user("bsp1").sign(env.payload)
    assert net.commit(env.SerializeToString()) == [Code.BAD_PROPOSAL_TXID]


def test_validator_undefined_chaincode_and_wrong_channel(net: Net) -> None:
    def other(s: TxSimulator) -> None:
        s.put_state("nochaincode", "k", b"v")

    assert net.commit(net.tx(other, chaincode="nochaincode")) == [Code.INVALID_CHAINCODE]
    assert net.commit(net.tx(put("a", b"1"), channel="bsp2-channel")) == [
        Code.TARGET_CHAIN_NOT_FOUND
    ]


def _set_key_policy(key: str, policy: str):  # type: ignore[no-untyped-def]
    def sim(s: TxSimulator) -> None:
        s.put_state(CC, key, b"v")
        s.set_state_metadata(
            CC, key, {VALIDATION_PARAMETER: from_string(policy).SerializeToString()}
        )

    return sim


def test_validator_key_level_policy_overrides_chaincode_policy(net: Net) -> None:
    assert net.commit(net.tx(_set_key_policy("sbe", "AND('TSOMSP.peer', 'DSOHostMSP.peer')"))) == [
        Code.VALID
    ]
    # the chaincode policy (any one peer) is met, the key's policy is not
    assert net.commit(net.tx(put("sbe", b"1"), endorsers=("tso",))) == [
        Code.ENDORSEMENT_POLICY_FAILURE
    ]
    assert net.commit(net.tx(put("sbe", b"2"), endorsers=("tso", "dsohost"))) == [Code.VALID]
    # keys without a key-level policy still follow the chaincode's
    assert net.commit(net.tx(put("plain", b"1"), endorsers=("tso",))) == [Code.VALID]
    assert net.ledger.get_state(CC, "sbe") == b"2"


def test_validator_key_policy_updated_earlier_in_block_fails_later_writer(net: Net) -> None:
    net.commit(net.tx(put("k", b"0")))
    update = net.tx(_set_key_policy("k", "OR('TSOMSP.peer')"))

    def write(s: TxSimulator) -> None:
        s.put_state(CC, "k", b"blind")

    later = net.tx(write)
    assert net.commit(update, later) == [Code.VALID, Code.ENDORSEMENT_POLICY_FAILURE]


def test_validator_metadata_survives_value_writes_and_dies_with_delete(net: Net) -> None:
    net.commit(net.tx(_set_key_policy("m", "OR('TSOMSP.peer')")))
    net.commit(net.tx(put("m", b"again")))
    assert VALIDATION_PARAMETER in net.ledger.new_tx_simulator("q").get_state_metadata(CC, "m")

    def delete(s: TxSimulator) -> None:
        s.del_state(CC, "m")

    net.commit(net.tx(delete))
    net.commit(net.tx(put("m", b"reborn")))
    assert net.ledger.new_tx_simulator("q").get_state_metadata(CC, "m") == {}


def _private(key: str, value: bytes):  # type: ignore[no-untyped-def]
    def sim(s: TxSimulator) -> None:
        s.put_private_data(CC, "tsoPrivate", key, value)

    return sim


@pytest.mark.parametrize(("msp_id", "keeps"), [("TSOMSP", True), ("DSOHostMSP", False)])
def test_validator_private_data_hashes_on_chain_values_with_members_only(
    chain: Chain, tmp_path: Path, msp_id: str, keeps: bool
) -> None:
    definition = smoke_definition(
        collections={"tsoPrivate": "OR('TSOMSP.member', 'BSP1MSP.member')"}
    )
    net = Net(chain, tmp_path / msp_id, definition, msp_id=msp_id)
    e = endorse(
        net.ledger, chain.user("bsp1"), [chain.peer("tso")], _private("secret-key", b"secret-value")
    )
    assert e.private is not None
    codes = net.ledger.commit(net.factory.make_block([e.envelope]), {e.txid: e.private})
    assert codes == [Code.VALID]
    block = net.ledger.get_block(net.ledger.height - 1)
    raw = block.SerializeToString()
    assert b"secret-value" not in raw and b"secret-key" not in raw
    parsed = protoutil.unpack_envelope(block.data.data[0])
    assert parsed.action is not None
    txrw = rwset_pb2.TxReadWriteSet.FromString(parsed.action.results)
    coll = txrw.ns_rwset[0].collection_hashed_rwset[0]
    hashed = kv_rwset_pb2.HashedRWSet.FromString(coll.hashed_rwset)
    assert coll.collection_name == "tsoPrivate"
    assert hashed.hashed_writes[0].key_hash == hashlib.sha256(b"secret-key").digest()
    assert hashed.hashed_writes[0].value_hash == hashlib.sha256(b"secret-value").digest()
    sim = net.ledger.new_tx_simulator("q")
    assert (
        sim.get_private_data_hash(CC, "tsoPrivate", "secret-key")
        == hashlib.sha256(b"secret-value").digest()
    )
    stored = net.ledger.get_private_data(CC, "tsoPrivate", "secret-key")
    assert stored == (b"secret-value" if keeps else None)
    assert bool(net.ledger.get_private_data_for_block(block.header.number)) == keeps


def test_validator_private_data_with_wrong_hash_is_not_stored(chain: Chain, tmp_path: Path) -> None:
    definition = smoke_definition(collections={"tsoPrivate": "OR('TSOMSP.member')"})
    net = Net(chain, tmp_path / "p", definition, msp_id="TSOMSP")
    e = endorse(net.ledger, chain.user("bsp1"), [chain.peer("tso")], _private("k", b"real"))
    forged = endorse(
        net.ledger, chain.user("bsp1"), [chain.peer("tso")], _private("k", b"forged")
    ).private
    assert net.ledger.commit(net.factory.make_block([e.envelope]), {e.txid: forged}) == [Code.VALID]  # type: ignore[dict-item]
    assert net.ledger.get_private_data(CC, "tsoPrivate", "k") is None


def test_validator_private_read_conflict(chain: Chain, tmp_path: Path) -> None:
    definition = smoke_definition(collections={"tsoPrivate": "OR('TSOMSP.member')"})
    net = Net(chain, tmp_path / "p", definition, msp_id="TSOMSP")

    def rw(s: TxSimulator) -> None:
        s.get_private_data(CC, "tsoPrivate", "k")
        s.put_private_data(CC, "tsoPrivate", "k", b"v")

    a = endorse(net.ledger, chain.user("bsp1"), [chain.peer("tso")], rw)
    b = endorse(net.ledger, chain.user("bsp1"), [chain.peer("tso")], rw)
    codes = net.ledger.commit(net.factory.make_block([a.envelope, b.envelope]))
    assert codes == [Code.VALID, Code.MVCC_READ_CONFLICT]


def test_validator_endorsements_are_bound_to_their_proposal(net: Net, chain: Chain) -> None:
    """Replaying someone's endorsed response under a new header breaks the proposal hash."""
    env = common_pb2.Envelope.FromString(net.tx(put("a", b"1")))
    thief = chain.user("bsp1", "Admin")
    nonce = b"fresh-nonce"
    payload = common_pb2.Payload.FromString(env.payload)
    shdr = protoutil.make_signature_header(thief.serialize(), nonce).SerializeToString()
    chdr = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    chdr.tx_id = protoutil.compute_txid(nonce, thief.serialize())
    payload.header.channel_header = chdr.SerializeToString()
    payload.header.signature_header = shdr
    tx = transaction_pb2.Transaction.FromString(payload.data)
    tx.actions[0].header = shdr
    payload.data = tx.SerializeToString()
    env.payload = payload.SerializeToString()
    env.signature = thief.sign(env.payload)
    assert net.commit(env.SerializeToString()) == [Code.INVALID_ENDORSER_TRANSACTION]


def _rewrite_action(net: Net, chain: Chain, env_bytes: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    """Edit the ChaincodeAction inside an endorsed tx, re-endorse by TSO and re-sign."""
    from fabric_protos.peer import proposal_pb2, proposal_response_pb2

    env = common_pb2.Envelope.FromString(env_bytes)
    payload = common_pb2.Payload.FromString(env.payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    cap = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
    prp = proposal_response_pb2.ProposalResponsePayload.FromString(
        cap.action.proposal_response_payload
    )
    action = proposal_pb2.ChaincodeAction.FromString(prp.extension)
    edit(action)
    prp.extension = action.SerializeToString()
    raw = prp.SerializeToString()
    peer = chain.peer("tso")
    cap.action.proposal_response_payload = raw
    del cap.action.endorsements[:]
    cap.action.endorsements.add(
        endorser=peer.serialize(), signature=peer.sign(raw + peer.serialize())
    )
    tx.actions[0].payload = cap.SerializeToString()
    payload.data = tx.SerializeToString()
    env.payload = payload.SerializeToString()
    env.signature = chain.user("bsp1").sign(env.payload)
    return env.SerializeToString()


def test_validator_dispatcher_rules(net: Net, chain: Chain) -> None:
    def no_version(a) -> None:  # type: ignore[no-untyped-def]
        a.chaincode_id.version = ""

    def other_name(a) -> None:  # type: ignore[no-untyped-def]
        a.chaincode_id.name = "registry"

    def foreign_event(a) -> None:  # type: ignore[no-untyped-def]
        from fabric_protos.peer import chaincode_event_pb2

        a.events = chaincode_event_pb2.ChaincodeEvent(chaincode_id="registry").SerializeToString()

    def twice_same_ns(a) -> None:  # type: ignore[no-untyped-def]
        txrw = rwset_pb2.TxReadWriteSet.FromString(a.results)
        txrw.ns_rwset.append(txrw.ns_rwset[0])
        a.results = txrw.SerializeToString()

    cases = [
        (no_version, Code.INVALID_CHAINCODE),
        (other_name, Code.INVALID_CHAINCODE),
        (foreign_event, Code.INVALID_OTHER_REASON),
        (twice_same_ns, Code.ILLEGAL_WRITESET),
    ]
    envs = [
        _rewrite_action(net, chain, net.tx(put(f"r{i}", b"1")), f) for i, (f, _) in enumerate(cases)
    ]
    assert net.commit(*envs) == [code for _, code in cases]


def test_validator_read_only_tx_still_needs_the_invoked_chaincode_policy(
    chain: Chain, tmp_path: Path
) -> None:
    net = Net(chain, tmp_path / "p", smoke_definition("AND('TSOMSP.peer', 'BSPHostMSP.peer')"))

    def read(s: TxSimulator) -> None:
        s.get_state(CC, "anything")

    assert net.commit(net.tx(read, endorsers=("tso",))) == [Code.ENDORSEMENT_POLICY_FAILURE]
    assert net.commit(net.tx(read, endorsers=("tso", "bsphost"))) == [Code.VALID]


def test_validator_writes_to_another_namespace_need_its_definition(net: Net) -> None:
    def cross(s: TxSimulator) -> None:
        s.put_state(CC, "mine", b"1")
        s.put_state("registry", "theirs", b"1")

    assert net.commit(net.tx(cross)) == [Code.INVALID_CHAINCODE]


def test_validator_config_update_envelopes_are_unsupported(net: Net, chain: Chain) -> None:
    user = chain.user("bsp1")
    nonce = protoutil.new_nonce()
    chdr = protoutil.make_channel_header(common_pb2.CONFIG_UPDATE, chain.channel, "")
    shdr = protoutil.make_signature_header(user.serialize(), nonce)
    payload = common_pb2.Payload(
        header=protoutil.make_payload_header(chdr, shdr)
    ).SerializeToString()
    env = common_pb2.Envelope(payload=payload, signature=user.sign(payload)).SerializeToString()
    bad_type = protoutil.make_channel_header(common_pb2.MESSAGE, chain.channel, "")
    payload2 = common_pb2.Payload(
        header=protoutil.make_payload_header(bad_type, shdr)
    ).SerializeToString()
    env2 = common_pb2.Envelope(payload=payload2, signature=user.sign(payload2)).SerializeToString()
    assert net.commit(env, env2) == [Code.UNSUPPORTED_TX_PAYLOAD, Code.BAD_COMMON_HEADER]


def test_validator_collection_policy_governs_private_writes(chain: Chain, tmp_path: Path) -> None:
    from fabric_protos.peer import policy_pb2

    base = smoke_definition(collections={"tsoPrivate": "OR('TSOMSP.member', 'DSOHostMSP.member')"})
    assert base.collections is not None
    pkg = type(base.collections)()
    pkg.CopyFrom(base.collections)
    pkg.config[0].static_collection_config.endorsement_policy.CopyFrom(
        policy_pb2.ApplicationPolicy(signature_policy=from_string("OR('DSOHostMSP.peer')"))
    )
    definition = ChaincodeDefinition(
        name=CC,
        version="1.0",
        sequence=1,
        endorsement_policy=base.endorsement_policy,
        collections=pkg,
    )
    net = Net(chain, tmp_path / "p", definition)
    # the chaincode policy (any host peer) is met by TSO, the collection's is not
    assert net.commit(net.tx(_private("k", b"v"), endorsers=("tso",))) == [
        Code.ENDORSEMENT_POLICY_FAILURE
    ]
    assert net.commit(net.tx(_private("k", b"v"), endorsers=("dsohost",))) == [Code.VALID]

    def undefined(s: TxSimulator) -> None:
        # an endorser that skips the collection check its simulator makes (as Fabric's does)
        s._collections = None
        s.put_private_data(CC, "noSuchCollection", "k", b"v")

    assert net.commit(net.tx(undefined, endorsers=("dsohost",))) == [
        Code.ENDORSEMENT_POLICY_FAILURE
    ]


def test_validator_system_chaincodes_have_no_definition(net: Net) -> None:
    """As Fabric v3: a submitted qscc/cscc call, or a write to their namespace, has no
    chaincode definition to be validated against (INVALID_CHAINCODE)."""

    def query_only(s: TxSimulator) -> None:
        pass

    def write_qscc(s: TxSimulator) -> None:
        s.put_state("qscc", "k", b"v")

    assert net.commit(net.tx(query_only, chaincode="qscc")) == [Code.INVALID_CHAINCODE]
    assert net.commit(net.tx(write_qscc, chaincode="qscc")) == [Code.INVALID_CHAINCODE]
    assert net.commit(net.tx(write_qscc)) == [Code.INVALID_CHAINCODE]


def test_validator_phantom_detection_through_merkle_summaries(net: Net) -> None:
    def fill(s: TxSimulator) -> None:
        for i in range(120):
            s.put_state(CC, f"m{i:03d}", b"v")

    net.commit(net.tx(fill))
    ok_scan = net.tx(_range("m", "n", "o1"))
    assert net.commit(ok_scan) == [Code.VALID]
    stale_insert = net.tx(_range("m", "n", "o2"))
    net.commit(net.tx(put("m050x", b"new")))
    assert net.commit(stale_insert) == [Code.PHANTOM_READ_CONFLICT]
    stale_update = net.tx(_range("m", "n", "o3"))
    net.commit(net.tx(put("m100", b"changed")))
    assert net.commit(stale_update) == [Code.PHANTOM_READ_CONFLICT]
    outside = net.tx(_range("m", "n", "o4"))
    net.commit(net.tx(put("z", b"z")))
    assert net.commit(outside) == [Code.VALID]


def test_validator_key_policy_dependency_follows_endorsement_not_mvcc(net: Net) -> None:
    """As Fabric: a key-policy update that passes endorsement but fails MVCC still blocks
    later writers of that key in the same block."""
    net.commit(net.tx(put("dep", b"0")))

    def stale_policy_update(s: TxSimulator) -> None:
        s.get_state(CC, "dep")
        s.set_state_metadata(
            CC, "dep", {VALIDATION_PARAMETER: from_string("OR('TSOMSP.peer')").SerializeToString()}
        )

    update = net.tx(stale_policy_update)
    net.commit(net.tx(put("dep", b"1")))  # makes the update's read stale

    def blind(s: TxSimulator) -> None:
        s.put_state(CC, "dep", b"2")

    assert net.commit(update, net.tx(blind)) == [
        Code.MVCC_READ_CONFLICT,
        Code.ENDORSEMENT_POLICY_FAILURE,
    ]


def test_validator_chaincode_definition_round_trips_through_lifecycle_fields() -> None:
    from network.embedded.lifecycle.definition import sequence_key

    d = smoke_definition(collections={"tsoPrivate": "OR('TSOMSP.member')"})
    fields = dict(d.structure().fields)
    back = ChaincodeDefinition.from_fields(
        CC,
        fields["Sequence"],  # type: ignore[arg-type]
        fields["EndorsementInfo"],  # type: ignore[arg-type]
        fields["ValidationInfo"],  # type: ignore[arg-type]
        fields["Collections"],  # type: ignore[arg-type]
    )
    assert back == d and back.validation_parameter == d.validation_parameter
    assert back.collection("tsoPrivate") is not None and back.collection("nope") is None
    by_ref = ChaincodeDefinition(CC, "2.0", 2, None, policy_ref="/Channel/Application/Endorsement")
    ref_fields = dict(by_ref.structure().fields)
    assert (
        ChaincodeDefinition.from_fields(
            CC,
            2,
            ref_fields["EndorsementInfo"],
            ref_fields["ValidationInfo"],
            b"",  # type: ignore[arg-type]
        )
        == by_ref
    )
    assert sequence_key(CC) == "namespaces/fields/smoke/Sequence"


def test_validator_channel_policy_reference_as_chaincode_policy(
    chain: Chain, tmp_path: Path
) -> None:
    """A definition without a signature policy uses /Channel/Application/Endorsement."""
    definition = ChaincodeDefinition(CC, "1.0", 1, None)
    net = Net(chain, tmp_path / "p", definition)
    assert net.commit(net.tx(put("a", b"1"), endorsers=("tso",))) == [
        Code.ENDORSEMENT_POLICY_FAILURE
    ]
    # every peer org of the channel endorses: any majority-like channel policy is met
    assert net.commit(net.tx(put("a", b"1"), endorsers=("tso", "bsphost", "dsohost"))) == [
        Code.VALID
    ]


def test_validator_peers_share_one_prepass_per_block(chain: Chain, tmp_path: Path) -> None:
    """Peers of a channel validating the same block side by side agree, whoever goes first."""
    import threading

    definition = smoke_definition()
    nets = [Net(chain, tmp_path / f"p{i}", definition) for i in range(3)]
    envs = [nets[0].tx(put(f"s{i}", b"v")) for i in range(20)]
    envs.append(envs[3])  # an in-block duplicate
    block = nets[0].factory.make_block(envs)
    results: dict[int, list[int]] = {}

    def commit(i: int) -> None:
        results[i] = nets[i].ledger.commit(block)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1] == results[2] == [Code.VALID] * 20 + [Code.DUPLICATE_TXID]
    assert all(n.ledger.get_state(CC, "s7") == b"v" for n in nets)


def test_validator_private_data_expires_after_block_to_live(chain: Chain, tmp_path: Path) -> None:
    base = smoke_definition(collections={"tsoPrivate": "OR('TSOMSP.member')"})
    assert base.collections is not None
    pkg = type(base.collections)()
    pkg.CopyFrom(base.collections)
    pkg.config[0].static_collection_config.block_to_live = 2
    definition = ChaincodeDefinition(
        name=CC,
        version="1.0",
        sequence=1,
        endorsement_policy=base.endorsement_policy,
        collections=pkg,
    )
    net = Net(chain, tmp_path / "p", definition, msp_id="TSOMSP")
    e = endorse(net.ledger, chain.user("bsp1"), [chain.peer("tso")], _private("k", b"v"))
    net.ledger.commit(net.factory.make_block([e.envelope]), {e.txid: e.private})  # type: ignore[dict-item]
    written = net.ledger.height - 1
    sim = net.ledger.new_tx_simulator

    def alive() -> tuple[bytes | None, bytes | None]:
        return (
            net.ledger.get_private_data(CC, "tsoPrivate", "k"),
            sim("q").get_private_data_hash(CC, "tsoPrivate", "k"),
        )

    for _ in range(2):  # blocks written+1 and written+2 keep it
        net.commit(net.tx(put("tick", b"t")))
        assert alive() == (b"v", hashlib.sha256(b"v").digest())
    assert net.ledger.get_private_data_for_block(written)
    net.commit(net.tx(put("tick", b"t")))  # block written+3 purges it
    assert net.ledger.height - 1 == written + 3
    assert alive() == (None, None)
    assert net.ledger.get_private_data_for_block(written) == {}
