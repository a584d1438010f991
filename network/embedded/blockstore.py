"""Append-only block file with fsync per block, and the SQLite indexes over it.

Record layout: a 16-byte header (block length, private-data length, CRC-32 of both, reserved),
the serialised common.Block, then the private writes this peer kept for it. A record is durable
once `append` returns. On open the file is scanned; a torn or corrupt tail (a crash mid-write)
is cut off, so the store always holds a prefix of acknowledged blocks.

`BlockIndex` keeps block hash -> number and txid -> (block, tx, validation code) in the ledger's
SQLite database, written in the same SQLite transaction as the state of that block.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from fabric_protos.common import common_pb2

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">IIII")
_FILE = "blocks.bin"


class BlockStoreError(RuntimeError):
    """The block file is unreadable or a block is out of sequence."""


def encode_private(kept: dict[int, bytes]) -> bytes:
    return b"".join(struct.pack(">II", n, len(b)) + b for n, b in sorted(kept.items()))


def decode_private(raw: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(raw):
        n, size = struct.unpack_from(">II", raw, pos)
        pos += 8
        out[n] = raw[pos : pos + size]
        pos += size
    return out


Location = tuple[int, int, int]  # (offset, block length, private length) of a record


class BlockStore:
    def __init__(self, directory: Path, cache_blocks: int = 1) -> None:
        self.path = Path(directory) / _FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._offsets: list[Location] = []
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, common_pb2.Block] = OrderedDict()
        self._cache_size = cache_blocks
        self._scan_and_repair()
        self._wfd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._rfd = os.open(self.path, os.O_RDONLY)

    @classmethod
    def follow(cls, directory: Path, height: int) -> BlockStore:
        """A read-only view of a store another process appends to, holding its first `height`
        blocks (what that process reported committed); `extend` adds each block it reports
        next. Only record headers are read: the writer checked the records when it opened."""
        store = cls.__new__(cls)
        store.path = Path(directory) / _FILE
        store._lock = threading.Lock()
        store._cache = OrderedDict()
        store._cache_size = 1
        store._wfd = -1
        store._rfd = os.open(store.path, os.O_RDONLY)
        store._offsets = []
        try:
            store.scan_to(height)
        except BlockStoreError:
            os.close(store._rfd)
            raise
        return store

    def scan_to(self, height: int) -> None:
        """(A follower) find the records up to `height` its writer reported, reading their
        headers from the end of the last known one."""
        with self._lock:
            size = os.fstat(self._rfd).st_size
            if self._offsets:
                off, blen, plen = self._offsets[-1]
                pos = off + _HEADER.size + blen + plen
            else:
                pos = 0
            while len(self._offsets) < height:
                head = os.pread(self._rfd, _HEADER.size, pos)
                if len(head) < _HEADER.size:
                    break
                blen, plen, _, _ = _HEADER.unpack(head)
                end = pos + _HEADER.size + blen + plen
                if end > size:
                    break
                self._offsets.append((pos, blen, plen))
                pos = end
            if len(self._offsets) < height:
                raise BlockStoreError(
                    f"block file {self.path} holds {len(self._offsets)} blocks; its writer "
                    f"reported {height}"
                )

    def extend(self, number: int, location: Location) -> None:
        """(A follower) the writer appended block `number` at `location`."""
        with self._lock:
            if number < len(self._offsets):
                return  # already known (reported twice around a reconnection)
            if number != len(self._offsets):
                raise BlockStoreError(
                    f"block file {self.path}: told of block {number} at height {len(self._offsets)}"
                )
            self._offsets.append(location)

    def location(self, number: int) -> Location:
        return self._offsets[number]

    def _scan_and_repair(self) -> None:
        if not self.path.exists():
            self.path.touch()
            # Make the new file's directory entry durable too.
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        size = self.path.stat().st_size
        good = 0
        with open(self.path, "rb") as f:
            while good + _HEADER.size <= size:
                f.seek(good)
                blen, plen, crc, _ = _HEADER.unpack(f.read(_HEADER.size))
                end = good + _HEADER.size + blen + plen
                if end > size:
                    break
                body = f.read(blen + plen)
                if zlib.crc32(body) != crc:
                    break
                self._offsets.append((good, blen, plen))
                good = end
        if good != size:
            log.warning(
                "block file %s: cutting %d bytes of torn tail after block %d",
                self.path,
                size - good,
                len(self._offsets) - 1,
            )
            with open(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())

    @property
    def height(self) -> int:
        return len(self._offsets)

    def close(self) -> None:
        for fd in (self._wfd, self._rfd):
            if fd < 0:
                continue
            try:
                os.close(fd)
            except OSError:
                pass

    def append(self, block: common_pb2.Block, private: dict[int, bytes] | None = None) -> None:
        if self._wfd < 0:
            raise BlockStoreError(f"block file {self.path} is open read-only here")
        with self._lock:
            if block.header.number != len(self._offsets):
                raise BlockStoreError(
                    f"block {block.header.number} is out of sequence; the store expects "
                    f"block {len(self._offsets)}"
                )
            data = block.SerializeToString()
            pvt = encode_private(private) if private else b""
            body = data + pvt
            record = _HEADER.pack(len(data), len(pvt), zlib.crc32(body), 0) + body
            offset = os.lseek(self._wfd, 0, os.SEEK_END)
            written = os.write(self._wfd, record)
            if written != len(record):
                raise BlockStoreError(f"short write of block {block.header.number}")
            os.fsync(self._wfd)
            self._offsets.append((offset, len(data), len(pvt)))
            self._remember(block.header.number, block)

    def _remember(self, number: int, block: common_pb2.Block) -> None:
        self._cache[number] = block
        self._cache.move_to_end(number)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def get_bytes(self, number: int) -> bytes:
        if not 0 <= number < len(self._offsets):
            raise KeyError(f"block {number} is not in the store (height {len(self._offsets)})")
        offset, blen, _ = self._offsets[number]
        return os.pread(self._rfd, blen, offset + _HEADER.size)

    def get(self, number: int) -> common_pb2.Block:
        with self._lock:
            cached = self._cache.get(number)
        if cached is not None:
            copy = common_pb2.Block()
            copy.CopyFrom(cached)
            return copy
        return common_pb2.Block.FromString(self.get_bytes(number))

    def get_private(self, number: int) -> dict[int, bytes]:
        if not 0 <= number < len(self._offsets):
            raise KeyError(f"block {number} is not in the store (height {len(self._offsets)})")
        offset, blen, plen = self._offsets[number]
        if plen == 0:
            return {}
        return decode_private(os.pread(self._rfd, plen, offset + _HEADER.size + blen))


_INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS block_hash (hash BLOB PRIMARY KEY, block INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tx_index (
  txid TEXT PRIMARY KEY, block INTEGER NOT NULL, tx INTEGER NOT NULL, code INTEGER NOT NULL
) WITHOUT ROWID;
"""


class BlockIndex:
    """Lookups by block hash and txid, stored with the state in one SQLite database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.executescript(_INDEX_SCHEMA)

    @staticmethod
    def add(
        conn: sqlite3.Connection,
        block_num: int,
        header_hash: bytes,
        txs: list[tuple[str, int, int]],
    ) -> None:
        """Index one block: txs is [(txid, tx number, code)]; the first txid seen wins, as Fabric."""
        conn.execute("INSERT OR REPLACE INTO block_hash VALUES (?, ?)", (header_hash, block_num))
        conn.executemany(
            "INSERT OR IGNORE INTO tx_index VALUES (?, ?, ?, ?)",
            [(txid, block_num, n, code) for txid, n, code in txs if txid],
        )

    @staticmethod
    def block_by_hash(conn: sqlite3.Connection, header_hash: bytes) -> int | None:
        row = conn.execute("SELECT block FROM block_hash WHERE hash = ?", (header_hash,)).fetchone()
        return int(row[0]) if row else None

    @staticmethod
    def tx(conn: sqlite3.Connection, txid: str) -> tuple[int, int, int] | None:
        row = conn.execute(
            "SELECT block, tx, code FROM tx_index WHERE txid = ?", (txid,)
        ).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    @staticmethod
    def existing(conn: sqlite3.Connection, txids: list[str], chunk: int = 400) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(txids), chunk):
            part = txids[i : i + chunk]
            marks = ",".join("?" * len(part))
            found.update(
                row[0]
                for row in conn.execute(f"SELECT txid FROM tx_index WHERE txid IN ({marks})", part)
            )
        return found

    @staticmethod
    def clear(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM block_hash")
        conn.execute("DELETE FROM tx_index")


def looks_like_engine_block_file(head: bytes) -> bool:
    """Whether a file's first bytes read as this store's record header (reserved word 0, a
    block length that a varint-prefixed Fabric block file would not produce at offset 0)."""
    if len(head) < _HEADER.size:
        return False
    blen, _plen, _crc, reserved = _HEADER.unpack_from(head, 0)
    return reserved == 0 and 0 < blen < 1 << 31 and head[_HEADER.size : _HEADER.size + 1] == b"\x0a"


def read_block_file(path: Path) -> Iterator[common_pb2.Block]:
    """Every block of a block file (a ledger's `blocks.bin`, or a copy of it), read as it is.

    For audit: nothing is repaired and the records' CRCs are not trusted (anyone who alters a
    block can recompute them), so a block whose bytes were changed is still returned and the
    hash chain decides. A path to a ledger folder reads its `blocks.bin`.
    """
    p = Path(path)
    if p.is_dir():
        p = p / _FILE
    with open(p, "rb") as f:
        data = f.read()
    offset = 0
    index = 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            raise BlockStoreError(f"{p}: record {index} is cut short at byte {offset}")
        blen, plen, _crc, _ = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if start + blen + plen > len(data):
            raise BlockStoreError(f"{p}: record {index} is cut short at byte {offset}")
        try:
            block = common_pb2.Block.FromString(data[start : start + blen])
        except Exception as exc:  # protobuf's DecodeError and friends
            raise BlockStoreError(f"{p}: record {index} does not decode as a block: {exc}") from exc
        yield block
        offset = start + blen + plen
        index += 1
