"""The links between the engine's processes: framing, requests and replies, hostile frames."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from network.embedded import ipc, messages
from network.embedded.ipc import Link, LinkError, pack, unpack
from network.embedded.ledger import Committed


def test_ipc_pack_unpack_round_trip_fields_in_order() -> None:
    raw = pack(b"\x00bytes", "text é", 7, 2**63, b"")
    assert unpack(raw, "bbiib") == [b"\x00bytes", "text é".encode(), 7, 2**63, b""]
    assert unpack(pack(1, b"a", b"b", b"c"), "i*b") == [1, b"a", b"b", b"c"]


@pytest.mark.parametrize(
    ("raw", "spec", "why"),
    [
        (pack(b"abc")[:-1], "b", "ends inside a 3-byte field"),
        (b"\x00\x00", "b", "ends inside a length"),
        (b"\x00" * 5, "i", "ends inside an integer"),
        (pack(b"a", b"b"), "b", "bytes after its 1 fields"),
    ],
)
def test_ipc_unpack_refuses_a_truncated_or_longer_frame(raw: bytes, spec: str, why: str) -> None:
    with pytest.raises(LinkError, match=why):
        unpack(raw, spec)


def test_ipc_socket_path_is_in_the_run_folder_or_abstract_when_too_long(tmp_path: Path) -> None:
    assert ipc.socket_path(tmp_path, "engine") == str(tmp_path / "engine.sock")
    deep = tmp_path / ("x" * 120)
    name = ipc.socket_path(deep, "engine")
    assert name.startswith("\0cbp-") and len(name) < 60
    assert ipc.socket_path(deep, "engine") == name  # the same name in every process


def test_ipc_requests_are_answered_by_id_and_notices_arrive_in_order(tmp_path: Path) -> None:
    async def run() -> None:
        seen: list[tuple[int, bytes]] = []

        def server_side(link: Link, kind: int, ident: int, payload: bytes) -> None:
            if ident:
                link.reply(ident, payload[::-1])  # answered out of the order asked
            else:
                seen.append((kind, payload))

        path = ipc.socket_path(tmp_path, "t")
        server = await ipc.serve(path, server_side)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # owner-only
        client = await ipc.connect(path, lambda *_: None)
        for i in range(100):
            client.send(9, str(i).encode())
        answers = await asyncio.gather(*(client.request(3, f"q{i}".encode()) for i in range(50)))
        assert answers == [f"q{i}".encode()[::-1] for i in range(50)]
        big = os.urandom(3 << 20)  # a block of several MB in one frame
        assert await client.request(3, big) == big[::-1]
        assert seen == [(9, str(i).encode()) for i in range(100)]
        client.close()
        server.close()

    asyncio.run(run())


def test_ipc_a_hostile_frame_closes_the_link_and_fails_its_requests(tmp_path: Path) -> None:
    async def run() -> None:
        lost: list[Link] = []
        path = ipc.socket_path(tmp_path, "t")
        server = await ipc.serve(path, lambda *_: None, lost.append)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"\xff\xff\xff\xff" + b"\x01" * 20)  # a 4 GB frame announced
        await writer.drain()
        assert await reader.read() == b""  # the server closed the connection
        await asyncio.sleep(0.05)
        assert len(lost) == 1
        writer.close()

        # a request on a link that closes fails instead of waiting forever
        silent = await ipc.serve(ipc.socket_path(tmp_path, "s"), lambda link, *_: link.close())
        client = await ipc.connect(ipc.socket_path(tmp_path, "s"), lambda *_: None)
        with pytest.raises(LinkError, match="closed"):
            await client.request(1, b"x")
        with pytest.raises(LinkError, match="closed"):
            client.send(1, b"x")
        server.close()
        silent.close()

    asyncio.run(run())


def test_messages_committed_round_trip_and_refuse_codes_without_txids() -> None:
    c = Committed(7, bytes([0, 11]), ("a" * 64, ""), b"hdr", (100, 2000, 0), False)
    peer, channel, back = messages.read_committed(messages.committed("p0", "ch", c))
    assert (peer, channel, back) == ("p0", "ch", c)
    broken = pack("p0", "ch", 7, bytes([0, 11]), b"hdr", 100, 2000, 0, 0, "a" * 64)
    with pytest.raises(LinkError, match="2 codes for 1 txids"):
        messages.read_committed(broken)
    assert messages.read_order(messages.order("ch", b"me", b"sig", 12, b"env")) == (
        "ch",
        b"me",
        b"sig",
        12,
        b"env",
    )
    assert messages.read_endorsed(messages.endorsed(None, b"pr")) == (None, b"pr")
    assert messages.read_endorsed(messages.endorsed("refused", b"")) == ("refused", b"")
    assert messages.read_hello_reply(messages.hello_reply({"ch": 3})) == {"ch": 3}
    with pytest.raises(LinkError):
        messages.read_hello_reply(b'{"ch": "three"}')
