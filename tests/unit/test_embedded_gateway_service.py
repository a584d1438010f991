"""gateway.Gateway of the embedded peer: endorsement planning and the errors a client sees.

Each refusal is checked as a Fabric client reads it: the gRPC code, the message, and the
per-endorser `gateway.ErrorDetail`s decoded from the `grpc-status-details-bin` trailer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
from embedded_fixtures import CHANNEL, Chain, smoke_definition
from embedded_peer_fixtures import (
    Aborted,
    FakeContext,
    PeerNet,
    build_net,
    signed_proposal,
)
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2

from gateway.errors import RpcStatus, decode_rpc_status
from network.embedded.gateway_service import GatewayService
from network.embedded.msp import SigningIdentity
from network.embedded.protoutil import unpack_envelope

TSO_PLUS_HOST = "AND('TSOMSP.peer', OR('BSPHostMSP.peer', 'DSOHostMSP.peer'))"


def _service(net: PeerNet, org: str = "bsphost") -> GatewayService:
    return GatewayService(net.peers[org], list(net.peers.values()), net.orderer)  # type: ignore[arg-type]


def _call(method: Any, request: Any) -> tuple[Any, FakeContext]:
    ctx = FakeContext()

    async def run() -> Any:
        try:
            return await method(request, ctx)
        except Aborted:
            return None

    return asyncio.run(run()), ctx


def _status(ctx: FakeContext) -> RpcStatus:
    assert ctx.code is not None, "the call was not refused"
    status = decode_rpc_status(ctx.status_details())
    assert status.code == ctx.code.value[0] and status.message == ctx.message
    return status


def _endorsers(env: common_pb2.Envelope) -> set[str]:
    tx = unpack_envelope(env)
    assert tx.action is not None
    return {
        identities_pb2.SerializedIdentity.FromString(e.endorser).mspid
        for e in tx.action.endorsements
    }


def _endorse(net: PeerNet, creator: SigningIdentity, **kw: Any) -> tuple[Any, FakeContext]:
    orgs = kw.pop("endorsing_organizations", [])
    signed, _ = signed_proposal(creator, [b"Put", b"k", b"v"], **kw)
    request = gateway_pb2.EndorseRequest(proposed_transaction=signed, endorsing_organizations=orgs)
    return _call(_service(net).Endorse, request)


# --- Endorse -------------------------------------------------------------------------------


def test_endorse_uses_the_gateways_own_peer_when_it_satisfies_the_policy(
    net: PeerNet, chain: Chain
) -> None:
    resp, ctx = _endorse(net, chain.user("bsp1"))
    assert ctx.code is None
    assert _endorsers(resp.prepared_transaction) == {"BSPHostMSP"}
    assert net.chaincode("bsphost").calls == 1
    assert net.chaincode("tso").calls == net.chaincode("dsohost").calls == 0


def test_endorse_adds_the_fewest_peers_the_policy_needs(chain: Chain, tmp_path: Path) -> None:
    net = build_net(chain, tmp_path, definition=smoke_definition(TSO_PLUS_HOST))
    resp, ctx = _endorse(net, chain.user("bsp1"))
    assert ctx.code is None
    assert _endorsers(resp.prepared_transaction) == {"BSPHostMSP", "TSOMSP"}
    assert net.chaincode("dsohost").calls == 0


def test_endorse_on_named_organizations(net: PeerNet, chain: Chain) -> None:
    resp, ctx = _endorse(net, chain.user("bsp1"), endorsing_organizations=["TSOMSP", "DSOHostMSP"])
    assert ctx.code is None
    assert _endorsers(resp.prepared_transaction) == {"TSOMSP", "DSOHostMSP"}
    assert net.chaincode("bsphost").calls == 0


def test_prepared_transaction_commits_valid(net: PeerNet, chain: Chain) -> None:
    user = chain.user("bsp1")
    resp, _ = _endorse(net, user)
    env = resp.prepared_transaction
    env.signature = user.sign(env.payload)
    assert net.commit(env.SerializeToString()) == [transaction_pb2.VALID]


def test_mismatched_endorsements_are_aborted_with_details(chain: Chain, tmp_path: Path) -> None:
    def nondeterministic(peer, ctx, args):  # type: ignore[no-untyped-def]
        ctx.simulator.put_state(ctx.namespace, "k", peer.name.encode())
        return proposal_response_pb2.Response(status=200), None

    net = build_net(chain, tmp_path, definition=smoke_definition(TSO_PLUS_HOST))
    net.set_chaincode(nondeterministic)
    _, ctx = _endorse(net, chain.user("bsp1"))
    assert ctx.code == grpc.StatusCode.ABORTED
    status = _status(ctx)
    assert status.message == (
        "failed to collect enough transaction endorsements, see attached details for more info"
    )
    assert [(d.msp_id, d.message) for d in status.details] == [
        ("TSOMSP", "ProposalResponsePayloads do not match")
    ]
    assert status.details[0].address == net.peers["tso"].address


def test_forged_proposal_signature_is_aborted_with_the_endorsers_reason(
    net: PeerNet, chain: Chain
) -> None:
    forger = chain.user("bsp1", "Admin")
    _, ctx = _endorse(net, chain.user("bsp1"), sign=forger.sign)
    assert ctx.code == grpc.StatusCode.ABORTED
    status = _status(ctx)
    assert status.message == "failed to endorse transaction, see attached details for more info"
    (detail,) = status.details
    assert (detail.address, detail.msp_id) == (net.peers["bsphost"].address, "BSPHostMSP")
    assert detail.message == (
        f"error validating proposal: access denied: channel [{CHANNEL}] creator org [BSP1MSP]"
    )
    assert net.chaincode("bsphost").calls == 0


def test_writers_policy_refusal_reaches_the_client(net: PeerNet, chain: Chain) -> None:
    _, ctx = _endorse(net, chain.peer("tso"))
    status = _status(ctx)
    assert ctx.code == grpc.StatusCode.ABORTED
    assert "access denied for [peer/Propose]" in status.details[0].message
    assert "[/Channel/Application/Writers]" in status.details[0].message


def test_endorse_on_a_channel_the_gateway_does_not_serve(net: PeerNet, chain: Chain) -> None:
    _, ctx = _endorse(net, chain.user("bsp1"), channel="elsewhere")
    assert ctx.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "elsewhere" in ctx.message


def test_endorse_without_a_proposal_is_invalid(net: PeerNet) -> None:
    _, ctx = _call(_service(net).Endorse, gateway_pb2.EndorseRequest())
    assert ctx.code == grpc.StatusCode.INVALID_ARGUMENT
    assert ctx.message == "the proposed transaction must contain a signed proposal"


# --- Evaluate ------------------------------------------------------------------------------


def _evaluate(net: PeerNet, creator: SigningIdentity, args: list[bytes], **kw: Any) -> Any:
    signed, _ = signed_proposal(creator, args, **kw)
    return _call(_service(net).Evaluate, gateway_pb2.EvaluateRequest(proposed_transaction=signed))


def test_evaluate_returns_the_chaincode_result(net: PeerNet, chain: Chain) -> None:
    resp, ctx = _evaluate(net, chain.user("bsp1"), [b"Put", b"k", b"v"])
    assert ctx.code is None
    assert (resp.result.status, resp.result.payload) == (200, b"ok")
    assert net.chaincode("bsphost").calls == 1


def test_evaluate_of_an_undefined_chaincode_finds_no_peer(net: PeerNet, chain: Chain) -> None:
    # Fabric's registry only offers peers that have the chaincode.
    _, ctx = _evaluate(net, chain.user("bsp1"), [b"Get"], chaincode="nope")
    assert ctx.code == grpc.StatusCode.FAILED_PRECONDITION
    assert ctx.message == f"no peers available to evaluate chaincode nope in channel {CHANNEL}"


def test_endorse_of_an_undefined_chaincode_has_no_plan(net: PeerNet, chain: Chain) -> None:
    _, ctx = _endorse(net, chain.user("bsp1"), chaincode="nope")
    assert ctx.code == grpc.StatusCode.FAILED_PRECONDITION
    assert ctx.message == (
        "no combination of peers can be derived which satisfy the endorsement policy"
    )
    assert all(net.chaincode(o).calls == 0 for o in net.peers)


def test_endorsing_orgs_without_peers_are_unavailable(net: PeerNet, chain: Chain) -> None:
    _, ctx = _endorse(
        net, chain.user("bsp1"), endorsing_organizations=["BSP1MSP", "TSOMSP", "ARETIMSP"]
    )
    assert ctx.code == grpc.StatusCode.UNAVAILABLE
    assert ctx.message == "failed to find any endorsing peers for org(s): BSP1MSP, ARETIMSP"


def test_evaluate_chaincode_error_is_not_retried(net: PeerNet, chain: Chain) -> None:
    def refuse(_peer, _ctx, _args):  # type: ignore[no-untyped-def]
        return proposal_response_pb2.Response(status=404, message="pod not found"), None

    net.set_chaincode(refuse)
    _, ctx = _evaluate(net, chain.user("bsp1"), [b"Get", b"x"])
    assert ctx.code == grpc.StatusCode.UNKNOWN
    assert ctx.message == (
        "evaluate call to endorser returned error: chaincode response 404, pod not found"
    )
    assert [d.msp_id for d in _status(ctx).details] == ["BSPHostMSP"]
    assert net.chaincode("tso").calls == 0


def test_evaluate_on_an_unknown_channel(net: PeerNet, chain: Chain) -> None:
    _, ctx = _evaluate(net, chain.user("bsp1"), [b"Get"], channel="elsewhere")
    assert ctx.code == grpc.StatusCode.FAILED_PRECONDITION
    assert ctx.message == "no peers available to evaluate chaincode smoke in channel elsewhere"


# --- Submit and CommitStatus ---------------------------------------------------------------


def _prepared(net: PeerNet, user: SigningIdentity) -> common_pb2.Envelope:
    resp, ctx = _endorse(net, user)
    assert ctx.code is None
    env: common_pb2.Envelope = resp.prepared_transaction
    env.signature = user.sign(env.payload)
    return env


def test_submit_hands_the_signed_envelope_to_the_orderer(net: PeerNet, chain: Chain) -> None:
    env = _prepared(net, chain.user("bsp1"))
    request = gateway_pb2.SubmitRequest(
        transaction_id="t", channel_id=CHANNEL, prepared_transaction=env
    )
    _, ctx = _call(_service(net).Submit, request)
    assert ctx.code is None
    assert net.orderer.received == [env.SerializeToString()]


def test_submit_refused_by_the_orderer_is_aborted(net: PeerNet, chain: Chain) -> None:
    env = _prepared(net, chain.user("bsp1"))
    net.orderer.status, net.orderer.info = common_pb2.FORBIDDEN, "writers said no"
    request = gateway_pb2.SubmitRequest(prepared_transaction=env)
    _, ctx = _call(_service(net).Submit, request)
    assert ctx.code == grpc.StatusCode.ABORTED
    assert ctx.message == (
        "received unsuccessful response from orderer: status=FORBIDDEN, info=writers said no"
    )


def test_unsigned_submit_is_invalid(net: PeerNet, chain: Chain) -> None:
    env = _prepared(net, chain.user("bsp1"))
    env.signature = b""
    _, ctx = _call(_service(net).Submit, gateway_pb2.SubmitRequest(prepared_transaction=env))
    assert ctx.code == grpc.StatusCode.INVALID_ARGUMENT
    assert net.orderer.received == []


def _commit_status(
    net: PeerNet, who: SigningIdentity, txid: str, channel: str = CHANNEL
) -> tuple[Any, FakeContext]:
    req = gateway_pb2.CommitStatusRequest(
        transaction_id=txid, channel_id=channel, identity=who.serialize()
    ).SerializeToString()
    signed = gateway_pb2.SignedCommitStatusRequest(request=req, signature=who.sign(req))
    return _call(_service(net).CommitStatus, signed)


def test_commit_status_of_a_committed_transaction(net: PeerNet, chain: Chain) -> None:
    user = chain.user("bsp1")
    env = _prepared(net, user)
    txid = unpack_envelope(env).txid
    net.commit(env.SerializeToString())
    resp, ctx = _commit_status(net, user, txid)
    assert ctx.code is None
    assert (resp.result, resp.block_number) == (transaction_pb2.VALID, 1)


def test_commit_status_on_an_unknown_channel_is_not_found(net: PeerNet, chain: Chain) -> None:
    _, ctx = _commit_status(net, chain.user("bsp1"), "t", channel="elsewhere")
    assert ctx.code == grpc.StatusCode.NOT_FOUND
    assert ctx.message == "channel 'elsewhere' not found"


def test_commit_status_for_a_non_reader_is_permission_denied(net: PeerNet, chain: Chain) -> None:
    _, ctx = _commit_status(net, chain.user("bsp2"), "t")
    assert ctx.code == grpc.StatusCode.PERMISSION_DENIED
    assert "signature set did not satisfy policy" in ctx.message


def test_commit_status_waits_for_the_block_committed_on_another_thread(
    net: PeerNet, chain: Chain
) -> None:
    user = chain.user("bsp1")
    first, second = _prepared(net, user), _prepared(net, user)
    req = gateway_pb2.CommitStatusRequest(
        transaction_id=unpack_envelope(second).txid, channel_id=CHANNEL, identity=user.serialize()
    ).SerializeToString()
    signed = gateway_pb2.SignedCommitStatusRequest(request=req, signature=user.sign(req))

    async def main() -> Any:
        waiting = asyncio.create_task(_service(net).CommitStatus(signed, FakeContext()))
        await asyncio.to_thread(net.commit, first.SerializeToString())
        await asyncio.sleep(0.05)
        assert not waiting.done(), "answered before the transaction was committed"
        await asyncio.to_thread(net.commit, second.SerializeToString())
        return await asyncio.wait_for(waiting, 5)

    resp = asyncio.run(main())
    assert (resp.result, resp.block_number) == (transaction_pb2.VALID, 2)
