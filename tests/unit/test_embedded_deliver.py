"""The peer's Deliver service: blocks by SeekInfo, and private data cut to the requester's rights."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from embedded_fixtures import CHANNEL, Chain, smoke_definition
from embedded_peer_fixtures import FakeContext, PeerNet, build_net, signed_proposal
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2

from network.embedded import protoutil
from network.embedded.deliver import DeliverService
from network.embedded.gateway_service import prepare_transaction
from network.embedded.msp import SigningIdentity

MEMBERS_ONLY = "tsoPrivate"  # members: TSO and BSP1, memberOnlyRead
OPEN = "openNotes"  # members: TSO, any channel reader may receive it


def _write_private(_peer, ctx, _args):  # type: ignore[no-untyped-def]
    ctx.simulator.put_private_data(ctx.namespace, MEMBERS_ONLY, "k", b"secret")
    ctx.simulator.put_private_data(ctx.namespace, OPEN, "n", b"note")
    return proposal_response_pb2.Response(status=200), None


@pytest.fixture
def net(chain: Chain, tmp_path: Path) -> PeerNet:
    d = smoke_definition(
        collections={
            MEMBERS_ONLY: "OR('TSOMSP.member', 'BSP1MSP.member')",
            OPEN: "OR('TSOMSP.member')",
        }
    )
    assert d.collections is not None
    d.collections.config[0].static_collection_config.member_only_read = True
    net = build_net(chain, tmp_path, definition=d, fn=_write_private)
    user = chain.user("bsp1")
    signed, _ = signed_proposal(user, [b"PutPrivate"])
    pr, err = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    assert err is None and pr.response.status == 200
    env = prepare_transaction(protoutil.unpack_proposal(signed), pr.payload, [pr.endorsement])
    env.signature = user.sign(env.payload)
    assert net.commit(env.SerializeToString()) == [transaction_pb2.VALID]
    return net


def _seek(who: SigningIdentity, start: int, stop: int) -> common_pb2.Envelope:
    chdr = common_pb2.ChannelHeader(type=common_pb2.DELIVER_SEEK_INFO, channel_id=CHANNEL)
    shdr = common_pb2.SignatureHeader(creator=who.serialize(), nonce=b"n" * 24)
    seek = ab_pb2.SeekInfo(
        start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)),
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=stop)),
        behavior=ab_pb2.SeekInfo.FAIL_IF_NOT_READY,
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=chdr.SerializeToString(), signature_header=shdr.SerializeToString()
        ),
        data=seek.SerializeToString(),
    ).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=who.sign(payload))


def _deliver(net: PeerNet, org: str, method: str, request: common_pb2.Envelope) -> list[Any]:
    async def requests() -> AsyncIterator[common_pb2.Envelope]:
        yield request

    async def run() -> list[Any]:
        stream = getattr(DeliverService(net.peers[org]), method)(requests(), FakeContext())
        return [r async for r in stream]

    return asyncio.run(run())


def _collections(response: Any) -> dict[int, set[str]]:
    pvt = response.block_and_private_data.private_data_map
    return {
        seq: {c.collection_name for ns in rw.ns_pvt_rwset for c in ns.collection_pvt_rwset}
        for seq, rw in pvt.items()
    }


def test_collection_member_receives_every_collection(net: PeerNet, chain: Chain) -> None:
    out = _deliver(net, "tso", "DeliverWithPrivateData", _seek(chain.user("bsp1"), 1, 1))
    assert _collections(out[0]) == {0: {MEMBERS_ONLY, OPEN}}
    assert out[0].block_and_private_data.block.header.number == 1
    assert out[-1].status == common_pb2.SUCCESS


def test_non_member_receives_only_collections_without_member_only_read(
    net: PeerNet, chain: Chain
) -> None:
    out = _deliver(net, "tso", "DeliverWithPrivateData", _seek(chain.user("areti"), 1, 1))
    assert _collections(out[0]) == {0: {OPEN}}


def test_private_values_are_sent_as_committed(net: PeerNet, chain: Chain) -> None:
    from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

    out = _deliver(net, "tso", "DeliverWithPrivateData", _seek(chain.user("bsp1"), 1, 1))
    rw = out[0].block_and_private_data.private_data_map[0]
    values = {
        c.collection_name: kv_rwset_pb2.KVRWSet.FromString(c.rwset).writes[0].value
        for ns in rw.ns_pvt_rwset
        for c in ns.collection_pvt_rwset
    }
    assert values == {MEMBERS_ONLY: b"secret", OPEN: b"note"}


def test_peer_of_a_non_member_org_has_no_private_data_to_send(net: PeerNet, chain: Chain) -> None:
    out = _deliver(net, "dsohost", "DeliverWithPrivateData", _seek(chain.user("bsp1"), 1, 1))
    assert out[0].block_and_private_data.block.header.number == 1
    assert _collections(out[0]) == {}


def test_requester_outside_the_channel_is_forbidden(net: PeerNet, chain: Chain) -> None:
    out = _deliver(net, "tso", "DeliverWithPrivateData", _seek(chain.user("bsp2"), 0, 1))
    assert [r.status for r in out] == [common_pb2.FORBIDDEN]


def test_seek_past_the_height_fails_when_not_ready(net: PeerNet, chain: Chain) -> None:
    out = _deliver(net, "tso", "Deliver", _seek(chain.user("bsp1"), 0, 5))
    assert [r.block.header.number for r in out[:-1]] == [0, 1]
    assert out[-1].status == common_pb2.NOT_FOUND


def test_filtered_block_carries_txid_and_validation_code(net: PeerNet, chain: Chain) -> None:
    out = _deliver(net, "bsphost", "DeliverFiltered", _seek(chain.user("bsp1"), 1, 1))
    fb = out[0].filtered_block
    assert (fb.channel_id, fb.number) == (CHANNEL, 1)
    (ftx,) = fb.filtered_transactions
    assert ftx.tx_validation_code == transaction_pb2.VALID
    assert (
        ftx.txid
        == protoutil.unpack_envelope(
            net.peers["bsphost"].channels[CHANNEL].ledger.get_block(1).data.data[0]
        ).txid
    )
