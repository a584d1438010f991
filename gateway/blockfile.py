"""Reading a Fabric peer's or orderer's own block files (`blockfile_000000`, ...), offline.

Fabric's block store (`common/ledger/blkstorage`) appends each block as a varint length followed
by the block in its own serialization (not a protobuf `Block`): the header (varint number, then
length-prefixed data hash and previous hash), the data (varint count, then each envelope
length-prefixed) and the metadata (varint count, then each entry length-prefixed). A ledger's
blocks run over `blockfile_000000`, `blockfile_000001`, ... in one folder
(`ledgersData/chains/chains/<channel>/` on a peer).

For audit: nothing is repaired or trusted; a block whose bytes were changed still decodes and
the hash chain decides. What cannot be decoded raises `BlockFileError` naming the file, the
record and the byte offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fabric_protos.common import common_pb2

FABRIC_FILE = re.compile(r"^blockfile_(\d{6})$")


class BlockFileError(ValueError):
    """A block file that cannot be read as Fabric's block store format."""


class _Reader:
    def __init__(self, data: bytes, origin: str, base: int) -> None:
        self.data = data
        self.pos = 0
        self.origin = origin
        self.base = base  # offset of `data` in the file, for messages

    def varint(self, what: str) -> int:
        result = shift = 0
        start = self.pos
        while True:
            if self.pos >= len(self.data):
                raise BlockFileError(
                    f"{self.origin}: {what} at byte {self.base + start} is cut short"
                )
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise BlockFileError(
                    f"{self.origin}: {what} at byte {self.base + start} is not a varint"
                )

    def raw(self, what: str) -> bytes:
        size = self.varint(f"length of {what}")
        end = self.pos + size
        if end > len(self.data):
            raise BlockFileError(
                f"{self.origin}: {what} at byte {self.base + self.pos} needs {size} bytes, "
                f"{len(self.data) - self.pos} left"
            )
        out = self.data[self.pos : end]
        self.pos = end
        return out


def decode_serialized_block(data: bytes, origin: str = "block", base: int = 0) -> Any:
    """One block from Fabric's block store serialization (`deserializeBlock`)."""
    r = _Reader(data, origin, base)
    block = common_pb2.Block()
    block.header.number = r.varint("block number")
    block.header.data_hash = r.raw("data hash")
    block.header.previous_hash = r.raw("previous hash")
    for i in range(r.varint("transaction count")):
        block.data.data.append(r.raw(f"transaction {i}"))
    for i in range(r.varint("metadata count")):
        block.metadata.metadata.append(r.raw(f"metadata entry {i}"))
    if r.pos != len(data):
        raise BlockFileError(
            f"{origin}: {len(data) - r.pos} bytes after the block's metadata at byte {base + r.pos}"
        )
    return block


def serialize_block(block: Any) -> bytes:
    """A block in Fabric's block store serialization (`serializeBlock`), e.g. for tests."""
    out = bytearray()
    out += _varint(block.header.number)
    for field in (block.header.data_hash, block.header.previous_hash):
        out += _varint(len(field)) + bytes(field)
    out += _varint(len(block.data.data))
    for env in block.data.data:
        out += _varint(len(env)) + bytes(env)
    out += _varint(len(block.metadata.metadata))
    for entry in block.metadata.metadata:
        out += _varint(len(entry)) + bytes(entry)
    return bytes(out)


def file_record(block: Any) -> bytes:
    """A block as it appears in a `blockfile_NNNNNN`: varint length, then the block."""
    body = serialize_block(block)
    return _varint(len(body)) + body


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_fabric_block_file(path: Path) -> Iterator[Any]:
    """Every block of one Fabric `blockfile_NNNNNN`, in file order."""
    data = Path(path).read_bytes()
    r = _Reader(data, str(path), 0)
    index = 0
    while r.pos < len(data):
        start = r.pos
        try:
            body = r.raw(f"record {index}")
        except BlockFileError as exc:
            raise BlockFileError(f"{exc} (record {index} starts at byte {start})") from None
        yield decode_serialized_block(body, f"{path} record {index}", r.pos - len(body))
        index += 1


def fabric_block_files(folder: Path) -> list[Path]:
    """A ledger folder's `blockfile_NNNNNN` files in number order."""
    files = sorted(
        (p for p in Path(folder).iterdir() if FABRIC_FILE.match(p.name)),
        key=lambda p: int(p.name.rsplit("_", 1)[1]),
    )
    return files


def read_fabric_ledger(folder: Path) -> Iterator[Any]:
    """Every block of a Fabric ledger folder (all its block files, in order)."""
    for f in fabric_block_files(folder):
        yield from read_fabric_block_file(f)


def looks_like_fabric_block_file(head: bytes) -> bool:
    """Whether the first bytes of a file read as Fabric's block store format: a varint
    length, then a block whose number is a varint and whose data hash is 32 bytes."""
    r = _Reader(head, "", 0)
    try:
        r.varint("length")
        r.varint("number")
        return r.varint("hash length") == 32
    except BlockFileError:
        return False
