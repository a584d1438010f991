"""ProcessProposal of one embedded peer: what it endorses and how it refuses, in Fabric's words."""

from __future__ import annotations

import asyncio
from pathlib import Path

from embedded_fixtures import CC, CHANNEL, Chain, smoke_definition
from embedded_peer_fixtures import PeerNet, build_net, signed_proposal
from fabric_protos.peer import proposal_response_pb2, transaction_pb2

from network.embedded import protoutil
from network.embedded.gateway_service import prepare_transaction


def _process(net: PeerNet, org: str, signed):  # type: ignore[no-untyped-def]
    return asyncio.run(net.peers[org].endorser.process_proposal(signed))


def test_valid_proposal_is_endorsed_with_the_peers_signature(net: PeerNet, chain: Chain) -> None:
    signed, _ = signed_proposal(chain.user("bsp1"), [b"Put", b"k", b"v"])
    pr, err = _process(net, "tso", signed)
    assert err is None
    assert pr.response.status == 200
    tso = chain.peer("tso")
    assert pr.endorsement.endorser == tso.serialize()
    assert tso.verify(pr.payload + pr.endorsement.endorser, pr.endorsement.signature)
    action = protoutil.unpack_proposal(signed)
    prp = proposal_response_pb2.ProposalResponsePayload.FromString(pr.payload)
    assert prp.proposal_hash == action.proposal_hash()


def test_forged_signature_is_refused_as_access_denied(net: PeerNet, chain: Chain) -> None:
    other = chain.user("bsp1", "Admin")
    signed, _ = signed_proposal(chain.user("bsp1"), [b"Put", b"k", b"v"], sign=other.sign)
    pr, err = _process(net, "tso", signed)
    assert err == (
        f"error validating proposal: access denied: channel [{CHANNEL}] creator org [BSP1MSP]"
    )
    assert pr.response.status == 500
    assert net.chaincode("tso").calls == 0


def test_creator_of_an_org_outside_the_channel_is_refused(net: PeerNet, chain: Chain) -> None:
    signed, _ = signed_proposal(chain.user("bsp2"), [b"Put", b"k", b"v"])
    _, err = _process(net, "tso", signed)
    assert err == (
        f"error validating proposal: access denied: channel [{CHANNEL}] creator org unknown, "
        "creator is malformed"
    )


def test_txid_not_derived_from_nonce_and_creator_is_refused(net: PeerNet, chain: Chain) -> None:
    user = chain.user("bsp1")
    prop, txid = protoutil.create_proposal(user.serialize(), CHANNEL, CC, [b"Put"])
    hdr = protoutil.common_pb2.Header.FromString(prop.header)
    chdr = protoutil.common_pb2.ChannelHeader.FromString(hdr.channel_header)
    chdr.tx_id = "0" * 64
    hdr.channel_header = chdr.SerializeToString()
    prop.header = hdr.SerializeToString()
    raw = prop.SerializeToString()
    signed = protoutil.proposal_pb2.SignedProposal(proposal_bytes=raw, signature=user.sign(raw))
    _, err = _process(net, "tso", signed)
    assert err is not None and f"incorrectly computed txid '{'0' * 64}'" in err
    assert f"expected '{txid}'" in err


def test_unknown_channel_is_a_500_response_not_an_error(net: PeerNet, chain: Chain) -> None:
    signed, _ = signed_proposal(chain.user("bsp1"), [b"Put"], channel="no-such-channel")
    pr, err = _process(net, "tso", signed)
    assert err is None
    assert pr.response.status == 500
    assert pr.response.message == "channel 'no-such-channel' not found"


def test_undefined_chaincode_is_a_500_response(net: PeerNet, chain: Chain) -> None:
    signed, _ = signed_proposal(chain.user("bsp1"), [b"Put"], chaincode="nope")
    pr, err = _process(net, "tso", signed)
    assert err is None
    assert pr.response.status == 500
    assert pr.response.message == (
        f"make sure the chaincode nope has been successfully defined on channel {CHANNEL} "
        "and try again: chaincode nope not found"
    )
    assert not pr.payload and not pr.endorsement.signature


def test_peer_identity_is_not_a_channel_writer(net: PeerNet, chain: Chain) -> None:
    # The application orgs' Writers policy admits admins and clients, not peers.
    signed, _ = signed_proposal(chain.peer("bsphost"), [b"Put", b"k", b"v"])
    _, err = _process(net, "tso", signed)
    assert err == (
        "access denied for [peer/Propose]: failed evaluating policy on signed data during check "
        f"policy on channel [{CHANNEL}] with policy [/Channel/Application/Writers]: "
        "[signature set did not satisfy policy]"
    )
    assert net.chaincode("tso").calls == 0


def test_reused_txid_is_refused_once_committed(net: PeerNet, chain: Chain) -> None:
    user = chain.user("bsp1")
    signed, txid = signed_proposal(user, [b"Put", b"k", b"v"], nonce=b"n" * 24)
    pr, err = _process(net, "tso", signed)
    assert err is None
    pp = protoutil.unpack_proposal(signed)
    env = prepare_transaction(pp, pr.payload, [pr.endorsement])
    env.signature = user.sign(env.payload)
    assert net.commit(env.SerializeToString()) == [transaction_pb2.VALID]

    again, same = signed_proposal(user, [b"Put", b"k", b"w"], nonce=b"n" * 24)
    assert same == txid
    _, err = _process(net, "dsohost", again)
    assert err == f"duplicate transaction found [{txid}]. Creator [{user.serialize().hex()}]"


def test_chaincode_error_status_is_returned_unsigned(net: PeerNet, chain: Chain) -> None:
    def refuse(_peer, _ctx, _args):  # type: ignore[no-untyped-def]
        return proposal_response_pb2.Response(status=400, message="bad pod"), None

    net.set_chaincode(refuse)
    signed, _ = signed_proposal(chain.user("bsp1"), [b"Put"])
    pr, err = _process(net, "tso", signed)
    assert err is None
    assert (pr.response.status, pr.response.message) == (400, "bad pod")
    assert not pr.endorsement.signature


def test_private_writes_wait_in_the_transient_store_until_every_peer_committed(
    chain: Chain, tmp_path: Path
) -> None:
    def put_private(_peer, ctx, _args):  # type: ignore[no-untyped-def]
        ctx.simulator.put_private_data(ctx.namespace, "tsoPrivate", "k", b"secret")
        return proposal_response_pb2.Response(status=200), None

    net = build_net(
        chain,
        tmp_path / "pvt",
        definition=smoke_definition(collections={"tsoPrivate": "OR('TSOMSP.member')"}),
        fn=put_private,
    )
    user = chain.user("bsp1")
    signed, txid = signed_proposal(user, [b"PutPrivate"])
    pr, err = _process(net, "tso", signed)
    assert err is None
    store = net.peers["tso"].transient_store
    assert store.get(txid) is not None
    env = prepare_transaction(protoutil.unpack_proposal(signed), pr.payload, [pr.endorsement])
    env.signature = user.sign(env.payload)
    assert net.commit(env.SerializeToString()) == [transaction_pb2.VALID]
    assert store.get(txid) is None and len(store) == 0
    tso = net.peers["tso"].channels[CHANNEL].ledger
    assert tso.get_private_data(CC, "tsoPrivate", "k") == b"secret"
    dso = net.peers["dsohost"].channels[CHANNEL].ledger
    assert dso.get_private_data(CC, "tsoPrivate", "k") is None


def test_remembered_policy_decision_still_checks_each_signature(
    chain: Chain, tmp_path: Path
) -> None:
    from network.embedded.endorser import signed_data_satisfies
    from network.embedded.policies import SignedData

    ledger = chain.open_ledger(tmp_path / "acl-ledger")
    config = ledger.channel_config
    ledger.close()
    user, forger = chain.user("bsp1"), chain.user("bsp1", "Admin")
    data = b"commit status request"
    path = "/Channel/Application/Writers"
    good = SignedData(data, user.serialize(), user.sign(data))
    assert signed_data_satisfies(config, path, good)
    assert signed_data_satisfies(config, path, good)  # remembered decision, still verified
    forged = SignedData(data, user.serialize(), forger.sign(data))
    assert not signed_data_satisfies(config, path, forged)
    peer = chain.peer("tso")
    assert not signed_data_satisfies(
        config, path, SignedData(data, peer.serialize(), peer.sign(data))
    )


def test_endorsement_reads_the_chaincode_sequence_from_lifecycle(
    net: PeerNet, chain: Chain
) -> None:
    from fabric_protos.ledger.rwset import rwset_pb2
    from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

    signed, _ = signed_proposal(chain.user("bsp1"), [b"Put", b"k", b"v"])
    pr, err = _process(net, "tso", signed)
    assert err is None
    prp = proposal_response_pb2.ProposalResponsePayload.FromString(pr.payload)
    action = protoutil.proposal_pb2.ChaincodeAction.FromString(prp.extension)
    rws = rwset_pb2.TxReadWriteSet.FromString(action.results)
    reads = {
        ns.namespace: [r.key for r in kv_rwset_pb2.KVRWSet.FromString(ns.rwset).reads]
        for ns in rws.ns_rwset
    }
    assert reads["_lifecycle"] == [f"namespaces/fields/{CC}/Sequence"]
