"""Reading a real Fabric peer's ledger and an embedded peer's side by side, for comparison.

A Fabric peer's blocks come from its own block files (`gateway.blockfile`), its world state from
a snapshot it writes on request (`peer snapshot submitrequest`): `public_state.data` and
`private_state_hashes.data` are a format byte, then varint-length-prefixed `SnapshotRecord`s
(key, value, metadata, version as Fabric's order-preserving height bytes), and their
`.metadata` files say how many records each namespace has (Fabric's
`privacyenabledstate/snapshot.go`). Private data hashes live in namespaces `<cc>$$h<collection>`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.blockfile import read_fabric_ledger
from network.embedded.blockstore import read_block_file
from network.embedded.statedb import version_bytes

# (namespace, key) -> (value, version bytes, metadata bytes)
State = dict[tuple[str, bytes], tuple[bytes, bytes, bytes]]


def fabric_blocks(peer_data: Path, channel: str) -> list[Any]:
    return list(read_fabric_ledger(peer_data / "ledgersData" / "chains" / "chains" / channel))


def embedded_blocks(ledger_dir: Path) -> list[Any]:
    return list(read_block_file(ledger_dir))


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    pos = 1  # the format byte
    out = []
    while pos < len(data):
        size, pos = _varint(data, pos)
        out.append(data[pos : pos + size])
        pos += size
    return out


def _namespaces(path: Path) -> list[tuple[str, int]]:
    data = path.read_bytes()
    count, pos = _varint(data, 1)
    out = []
    for _ in range(count):
        size, pos = _varint(data, pos)
        ns = data[pos : pos + size].decode()
        pos += size
        n, pos = _varint(data, pos)
        out.append((ns, n))
    return out


def _snapshot_file(directory: Path, stem: str) -> State:
    from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2  # noqa: F401 - protos loaded

    data, meta = directory / f"{stem}.data", directory / f"{stem}.metadata"
    if not data.exists():
        return {}
    records = _records(data)
    out: State = {}
    i = 0
    for ns, n in _namespaces(meta):
        for raw in records[i : i + n]:
            rec = _SnapshotRecord.parse(raw)
            out[(ns, rec.key)] = (rec.value, rec.version, rec.metadata)
        i += n
    assert i == len(records), f"{data}: {len(records)} records, metadata counts {i}"
    return out


def fabric_snapshot(directory: Path) -> tuple[State, State]:
    """(public state, private data hashes) of a completed Fabric snapshot folder."""
    return (
        _snapshot_file(directory, "public_state"),
        _snapshot_file(directory, "private_state_hashes"),
    )


def embedded_state(ledger_dir: Path) -> tuple[State, State]:
    """The same two views of an embedded peer's state (SQLite, read only)."""
    db = sqlite3.connect(f"file:{ledger_dir / 'state.sqlite'}?mode=ro", uri=True)
    try:
        public: State = {
            (ns, bytes(k)): (bytes(v), version_bytes((b, t)), bytes(m or b""))
            for ns, k, v, b, t, m in db.execute(
                "SELECT ns, key, value, block, tx, metadata FROM state"
            )
        }
        hashes: State = {
            (f"{ns}$$h{coll}", bytes(kh)): (bytes(vh), version_bytes((b, t)), bytes(m or b""))
            for ns, coll, kh, vh, b, t, m in db.execute(
                "SELECT ns, coll, key_hash, value_hash, block, tx, metadata FROM hashed_state"
            )
        }
    finally:
        db.close()
    return public, hashes


@dataclass(frozen=True)
class _SnapshotRecord:
    key: bytes
    value: bytes
    metadata: bytes
    version: bytes

    @classmethod
    def parse(cls, raw: bytes) -> _SnapshotRecord:
        fields: dict[int, bytes] = {}
        pos = 0
        while pos < len(raw):
            tag, pos = _varint(raw, pos)
            size, pos = _varint(raw, pos)  # every field of SnapshotRecord is bytes
            fields[tag >> 3] = raw[pos : pos + size]
            pos += size
        return cls(fields.get(1, b""), fields.get(2, b""), fields.get(3, b""), fields.get(4, b""))


def differences(real: State, embedded: State, limit: int = 10) -> list[str]:
    """Human-readable key-by-key differences (empty when the two states are equal)."""
    out = []
    for key in sorted(set(real) | set(embedded)):
        a, b = real.get(key), embedded.get(key)
        if a != b:
            out.append(f"{key[0]} {key[1]!r}: fabric {a!r} embedded {b!r}")
            if len(out) >= limit:
                break
    return out
