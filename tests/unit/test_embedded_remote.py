"""A peer process's stand-ins for the core: the orderer's check before handing an envelope
over, and what the gateway hears when the core cannot be reached."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from embedded_fixtures import CC, Chain, endorse, smoke_definition
from fabric_protos.common import common_pb2

from network.embedded import ipc, messages
from network.embedded.channelconfig import ChannelConfig
from network.embedded.ipc import Link
from network.embedded.remote import CoreLink, RemoteOrderer
from network.embedded.rwset import TxSimulator

DEFINITION = smoke_definition()


@pytest.fixture(scope="module")
def chain(topology, crypto) -> Chain:  # type: ignore[no-untyped-def]
    return Chain(topology, crypto)


def _envelope(chain: Chain, tmp_path: Path, creator: str = "bsp1") -> bytes:
    ledger = chain.open_ledger(
        tmp_path / "l", chaincode_definitions=lambda n: DEFINITION if n == CC else None
    )

    def sim(s: TxSimulator) -> None:
        s.put_state(CC, "k", b"v")

    env = endorse(ledger, chain.user(creator), [chain.peer("tso")], sim)
    ledger.close()
    return env.envelope


def test_remote_orderer_checks_as_the_orderer_and_hands_over_what_passes(
    chain: Chain, tmp_path: Path
) -> None:
    config = ChannelConfig.from_block(chain.genesis, chain.channel)
    good = _envelope(chain, tmp_path)

    async def run() -> None:
        ordered: list[tuple[str, bytes, int, bytes]] = []

        def core(link: Link, kind: int, ident: int, payload: bytes) -> None:
            if kind == messages.HELLO:
                link.reply(ident, messages.hello_reply({chain.channel: 1}))
            elif kind == messages.ORDER:
                channel, creator, _sig, size, env = messages.read_order(payload)
                ordered.append((channel, creator, size, env))

        path = ipc.socket_path(tmp_path, messages.CORE_SOCKET)
        server = await ipc.serve(path, core)
        link = CoreLink(path, "peer0", lambda *_: None, lambda *_: None, lambda _h: None)
        assert await link.connect(timeout=5) == {chain.channel: 1}
        orderer = RemoteOrderer(link, lambda ch: config if ch == chain.channel else None)

        assert await orderer.broadcast(good) == (common_pb2.SUCCESS, "")
        forged = common_pb2.Envelope.FromString(good)
        forged.signature = forged.signature[:-2] + b"\x00\x00"
        status, info = await orderer.broadcast(forged.SerializeToString())
        assert status == common_pb2.FORBIDDEN and "Writers" in info
        assert (await orderer.broadcast(b"\xff\xff"))[0] == common_pb2.BAD_REQUEST
        await asyncio.sleep(0.05)
        # only the envelope that passed was handed over, as it is, with its creator
        assert [(c, creator, env) for c, creator, _, env in ordered] == [
            (chain.channel, chain.user("bsp1").serialize(), good)
        ]

        # the core gone: Submit hears that the ordering service is unavailable
        server.close()
        await link.close()
        status, info = await orderer.broadcast(good)
        assert status == common_pb2.SERVICE_UNAVAILABLE and "not reachable" in info

    asyncio.run(run())
