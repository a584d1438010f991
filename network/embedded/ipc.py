"""Local links between the engine's processes: framed messages over Unix sockets.

The engine runs as several processes (see `network/embedded/README.md`): the core (orderer and
every peer's ledger) and one process per peer. They talk over Unix domain sockets under the
sandbox's `run/` folder (owner-only), each link a stream of frames:

    length (4 bytes, big-endian, of what follows) | kind (1 byte) | id (4 bytes) | payload

A request carries a non-zero id and is answered by a `REPLY` frame with the same id; a
notice has id 0 and is not answered. Frames written in the same turn of the event loop go out
in one write, and each read hands every complete frame to the link's handler at once: a link
costs a few microseconds per message where a gRPC call costs over a hundred.

Payloads are built with `pack` (a sequence of length-prefixed byte strings and unsigned
integers) and read back with `unpack`; every length is checked, so a truncated or hostile
frame is a `LinkError`, never a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">IBI")  # length of kind+id+payload, kind, id
_LEN = struct.Struct(">I")
_U64 = struct.Struct(">Q")
MAX_FRAME = 128 * 1024 * 1024  # larger than any block or envelope the orderer admits

REPLY = 0  # the answer to a request, by id
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux; past this a shorter name is used


class LinkError(RuntimeError):
    """A link is closed, or a frame does not decode; the message says which."""


def pack(*fields: bytes | str | int) -> bytes:
    """Fields in order: bytes and str length-prefixed (str as UTF-8), int as 8 bytes."""
    out = bytearray()
    for f in fields:
        if isinstance(f, int):
            out += _U64.pack(f)
        else:
            raw = f.encode() if isinstance(f, str) else f
            out += _LEN.pack(len(raw))
            out += raw
    return bytes(out)


def unpack(data: bytes, spec: str) -> list[bytes | int]:
    """Read back `pack`'s fields: `spec` has one letter per field, `b` bytes or `i` int.
    Trailing fields may be repeated with `*` (e.g. "ii*b": two ints, then any number of
    byte strings)."""
    out: list[bytes | int] = []
    pos = 0
    view = memoryview(data)
    repeat = spec.endswith("*b")
    fixed = spec[:-2] if repeat else spec
    for letter in fixed:
        pos = _read(view, pos, letter, out)
    if repeat:
        while pos < len(data):
            pos = _read(view, pos, "b", out)
    elif pos != len(data):
        raise LinkError(f"frame has {len(data) - pos} bytes after its {len(fixed)} fields")
    return out


def _read(view: memoryview, pos: int, letter: str, out: list[bytes | int]) -> int:
    if letter == "i":
        if pos + 8 > len(view):
            raise LinkError("frame ends inside an integer field")
        out.append(_U64.unpack_from(view, pos)[0])
        return pos + 8
    if pos + 4 > len(view):
        raise LinkError("frame ends inside a length")
    (n,) = _LEN.unpack_from(view, pos)
    pos += 4
    if pos + n > len(view):
        raise LinkError(f"frame ends inside a {n}-byte field")
    out.append(bytes(view[pos : pos + n]))
    return pos + n


def socket_path(run_dir: Path, name: str) -> str:
    """Where the link `name` listens: `<run>/<name>.sock`, or, when that path is too long for
    a Unix socket, a name in Linux's abstract namespace derived from it (no file)."""
    path = str(Path(run_dir) / f"{name}.sock")
    if len(path.encode()) <= SOCKET_PATH_MAX:
        return path
    return "\0cbp-" + hashlib.sha256(path.encode()).hexdigest()[:32]


# (link, kind, id, payload) -> None; a request is answered with link.reply(id, ...)
Handler = Callable[["Link", int, int, bytes], None]


class Link(asyncio.Protocol):
    """One end of a connection. `handler` gets every frame but replies, which resolve the
    request that asked; `on_lost` is told once when the connection ends."""

    def __init__(self, handler: Handler, on_lost: Callable[[Link], None] | None = None) -> None:
        self._handler = handler
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[bytes]] = {}
        self.closed = asyncio.Event()
        self.name = ""  # who is at the other end, once it said (for logs)

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        end = len(buf)
        try:
            while end - pos >= _HEADER.size:
                size, kind, ident = _HEADER.unpack_from(buf, pos)
                if size < 5 or size > MAX_FRAME:
                    raise LinkError(f"frame of {size} bytes is out of bounds")
                stop = pos + 4 + size
                if stop > end:
                    break
                payload = bytes(buf[pos + _HEADER.size : stop])
                pos = stop
                if kind == REPLY:
                    fut = self._waiting.pop(ident, None)
                    if fut is not None and not fut.done():
                        fut.set_result(payload)
                else:
                    self._handler(self, kind, ident, payload)
        except LinkError as exc:
            log.warning("link %s: %s; closing it", self.name or "?", exc)
            self.close()
            return
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(LinkError(f"link to {self.name or 'peer'} closed"))
        self._waiting.clear()
        self.closed.set()
        if self._on_lost is not None:
            self._on_lost(self)

    # --- sending ---------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def send(self, kind: int, payload: bytes, ident: int = 0) -> None:
        """Queue a frame; frames queued in one turn of the loop leave in one write."""
        if not self.open:
            raise LinkError(f"link to {self.name or 'peer'} is closed")
        self._out.append(_HEADER.pack(len(payload) + 5, kind, ident) + payload)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        if self._transport is not None and out:
            self._transport.write(b"".join(out) if len(out) > 1 else out[0])

    def reply(self, ident: int, payload: bytes) -> None:
        if self.open:
            self.send(REPLY, payload, ident)

    def request(self, kind: int, payload: bytes) -> Awaitable[bytes]:
        """Send a request; the future resolves to the reply's payload (LinkError if the link
        closes first)."""
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        ident = self._next_id
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = fut
        try:
            self.send(kind, payload, ident)
        except LinkError:
            del self._waiting[ident]
            raise
        return fut

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(
    path: str, handler: Handler, on_lost: Callable[[Link], None] | None = None
) -> asyncio.AbstractServer:
    """Listen on `path` (see `socket_path`), owner-only; a stale socket file is replaced."""
    if not path.startswith("\0"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    loop = asyncio.get_running_loop()
    old = os.umask(0o177)
    try:
        server = await loop.create_unix_server(lambda: Link(handler, on_lost), path)
    finally:
        os.umask(old)
    return server


def unlink(path: str) -> None:
    """Remove a stopped listener's socket file (nothing for an abstract name)."""
    if not path.startswith("\0"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


async def connect(
    path: str, handler: Handler, on_lost: Callable[[Link], None] | None = None
) -> Link:
    """Open a link to `path`; OSError when nothing listens there."""
    loop = asyncio.get_running_loop()
    _, link = await loop.create_unix_connection(lambda: Link(handler, on_lost), path)
    return link


__all__ = [
    "REPLY",
    "Handler",
    "Link",
    "LinkError",
    "connect",
    "pack",
    "serve",
    "socket_path",
    "unlink",
    "unpack",
]
