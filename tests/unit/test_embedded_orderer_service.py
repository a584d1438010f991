"""The embedded orderer: Broadcast checks, block cutting, and blocks handed to the peers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_fixtures import CHANNEL, Chain
from embedded_peer_fixtures import PeerNet, signed_proposal
from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from network.embedded import protoutil
from network.embedded.gateway_service import prepare_transaction
from network.embedded.msp import SigningIdentity
from network.embedded.orderer_service import ChannelChain, Orderer

Status = common_pb2.Status


@pytest.fixture
def orderer(chain: Chain, net: PeerNet, tmp_path: Path) -> Iterator[Orderer]:
    cc = ChannelChain(chain.genesis, tmp_path / "orderer", chain.orderer())
    cc.peers = [p.channels[CHANNEL] for p in net.peers.values()]
    yield Orderer("orderer0", "127.0.0.1:0", {CHANNEL: cc}, None)  # type: ignore[arg-type]
    cc.close()


def _tx(net: PeerNet, user: SigningIdentity, key: str) -> bytes:
    signed, _ = signed_proposal(user, [b"Put", key.encode(), b"v"])
    pr, err = asyncio.run(net.peers["tso"].endorser.process_proposal(signed))
    assert err is None
    env = prepare_transaction(protoutil.unpack_proposal(signed), pr.payload, [pr.endorsement])
    env.signature = user.sign(env.payload)
    return env.SerializeToString()


def _wait_height(net: PeerNet, height: int) -> None:
    async def wait() -> None:
        for p in net.peers.values():
            ch = p.channels[CHANNEL]
            while ch.height < height:
                await ch.watcher.wait_above(ch.height, timeout=5)

    asyncio.run(asyncio.wait_for(wait(), 10))


def test_broadcast_orders_cuts_and_every_peer_commits(
    net: PeerNet, chain: Chain, orderer: Orderer
) -> None:
    user = chain.user("bsp1")
    txs = [_tx(net, user, f"k{i}") for i in range(3)]

    async def submit() -> list[tuple[int, str]]:
        out = [await orderer.broadcast(t) for t in txs]
        await orderer.chains[CHANNEL].flush()
        return out

    assert asyncio.run(submit()) == [(Status.SUCCESS, "")] * 3
    _wait_height(net, 2)
    for p in net.peers.values():
        ledger = p.channels[CHANNEL].ledger
        block = ledger.get_block(1)
        assert len(block.data.data) == 3
        assert list(protoutil.tx_filter(block)) == [transaction_pb2.VALID] * 3
        assert ledger.get_state("smoke", "k2") == b"v"
    assert orderer.chains[CHANNEL].height == 2


def test_envelope_not_signed_by_a_writer_is_forbidden(
    net: PeerNet, chain: Chain, orderer: Orderer
) -> None:
    env = common_pb2.Envelope.FromString(_tx(net, chain.user("bsp1"), "k"))
    outsider = chain.user("bsp2")
    env.signature = outsider.sign(env.payload)
    status, info = asyncio.run(orderer.broadcast(env.SerializeToString()))
    assert status == Status.FORBIDDEN
    assert "'Writers' sub-policies" in info


def test_unknown_channel_is_not_found(orderer: Orderer, chain: Chain) -> None:
    user = chain.user("bsp1")
    chdr = common_pb2.ChannelHeader(type=common_pb2.ENDORSER_TRANSACTION, channel_id="nope")
    payload = common_pb2.Payload(
        header=common_pb2.Header(channel_header=chdr.SerializeToString())
    ).SerializeToString()
    env = common_pb2.Envelope(payload=payload, signature=user.sign(payload))
    status, info = asyncio.run(orderer.broadcast(env.SerializeToString()))
    assert (status, info) == (Status.NOT_FOUND, "channel nope not found")


def test_config_update_is_refused(orderer: Orderer, chain: Chain) -> None:
    admin = chain.user("tso", "Admin")
    chdr = common_pb2.ChannelHeader(type=common_pb2.CONFIG_UPDATE, channel_id=CHANNEL)
    shdr = common_pb2.SignatureHeader(creator=admin.serialize(), nonce=b"n" * 24)
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=chdr.SerializeToString(), signature_header=shdr.SerializeToString()
        )
    ).SerializeToString()
    env = common_pb2.Envelope(payload=payload, signature=admin.sign(payload))
    status, info = asyncio.run(orderer.broadcast(env.SerializeToString()))
    assert status == Status.BAD_REQUEST
    assert "config updates are not supported" in info


def test_garbage_is_a_bad_request(orderer: Orderer) -> None:
    status, info = asyncio.run(orderer.broadcast(b"\xff\xff not an envelope"))
    assert status == Status.BAD_REQUEST
    assert info.startswith("bad envelope")
