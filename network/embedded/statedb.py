"""World state in SQLite (WAL): public keys, private-data hashes and private values, versioned.

Like Fabric's statedb on LevelDB: a key's version is the (block, tx) height of the transaction that
last wrote it, keys sort by their UTF-8 bytes (SQLite BLOB order), and the savepoint names the last
block whose updates are in. One SQLite transaction per block: `StateDB.transaction()` gives the
writer connection so history and the tx index commit atomically with the state.

Reads come from per-thread connections, so simulations run while a block commits; WAL gives each
read a consistent view and the validator's MVCC check catches anything that changed since.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from .protoutil import varint

Version = tuple[int, int]

KEEP = object()  # a value write that leaves the key's metadata as it is

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
  ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, block INTEGER NOT NULL,
  tx INTEGER NOT NULL, metadata BLOB, PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hashed_state (
  ns TEXT NOT NULL, coll TEXT NOT NULL, key_hash BLOB NOT NULL, value_hash BLOB NOT NULL,
  block INTEGER NOT NULL, tx INTEGER NOT NULL, metadata BLOB,
  PRIMARY KEY (ns, coll, key_hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS private_state (
  ns TEXT NOT NULL, coll TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
  block INTEGER NOT NULL, tx INTEGER NOT NULL, PRIMARY KEY (ns, coll, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hashed_state_block ON hashed_state (ns, coll, block);
CREATE INDEX IF NOT EXISTS private_state_block ON private_state (ns, coll, block);
CREATE TABLE IF NOT EXISTS savepoint (id INTEGER PRIMARY KEY CHECK (id = 1), block INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class VersionedValue:
    value: bytes
    version: Version
    metadata: bytes | None = None


def encode_metadata(entries: dict[str, bytes]) -> bytes | None:
    if not entries:
        return None
    msg = kv_rwset_pb2.KVMetadataWrite(
        entries=[kv_rwset_pb2.KVMetadataEntry(name=k, value=v) for k, v in sorted(entries.items())]
    )
    return msg.SerializeToString()


def decode_metadata(raw: bytes | None) -> dict[str, bytes]:
    if not raw:
        return {}
    return {e.name: e.value for e in kv_rwset_pb2.KVMetadataWrite.FromString(raw).entries}


@dataclass(slots=True)
class KeyUpdate:
    """The final effect of a block on one key. value None = delete; metadata may be KEEP."""

    value: bytes | None
    version: Version
    metadata: object = KEEP  # bytes | None | KEEP
    value_written: bool = True


def _carry(prev: KeyUpdate | None, value: bytes | None) -> object:
    """Metadata a new write leaves: deletes clear it, value writes keep the latest."""
    if value is None:
        return None
    if prev is None:
        return KEEP
    if prev.value is None and prev.value_written:
        return None
    return prev.metadata


@dataclass
class UpdateBatch:
    """The writes of a block's valid transactions, folded per key in block order."""

    public: dict[tuple[str, str], KeyUpdate] = field(default_factory=dict)
    hashed: dict[tuple[str, str, bytes], KeyUpdate] = field(default_factory=dict)
    private: dict[tuple[str, str, str], KeyUpdate] = field(default_factory=dict)
    # the commit hash's encoding, once the batch is complete (see fabric_update_bytes)
    _update_bytes: bytes | None = field(default=None, repr=False, compare=False)

    def put(self, ns: str, key: str, value: bytes | None, version: Version) -> None:
        self.public[(ns, key)] = KeyUpdate(
            value, version, _carry(self.public.get((ns, key)), value)
        )

    def put_metadata(self, ns: str, key: str, metadata: bytes | None, version: Version) -> None:
        prev = self.public.get((ns, key))
        if prev is None:
            self.public[(ns, key)] = KeyUpdate(None, version, metadata, value_written=False)
        elif prev.value is not None or not prev.value_written:
            prev.metadata = metadata
            prev.version = version

    def put_hashed(
        self, ns: str, coll: str, key_hash: bytes, value_hash: bytes | None, version: Version
    ) -> None:
        prev = self.hashed.get((ns, coll, key_hash))
        self.hashed[(ns, coll, key_hash)] = KeyUpdate(value_hash, version, _carry(prev, value_hash))

    def put_hashed_metadata(
        self, ns: str, coll: str, key_hash: bytes, metadata: bytes | None, version: Version
    ) -> None:
        prev = self.hashed.get((ns, coll, key_hash))
        if prev is None:
            self.hashed[(ns, coll, key_hash)] = KeyUpdate(
                None, version, metadata, value_written=False
            )
        elif prev.value is not None or not prev.value_written:
            prev.metadata = metadata
            prev.version = version

    def put_private(
        self, ns: str, coll: str, key: str, value: bytes | None, version: Version
    ) -> None:
        self.private[(ns, coll, key)] = KeyUpdate(value, version)

    def put_with_metadata(
        self, ns: str, key: str, value: bytes, metadata: bytes | None, version: Version
    ) -> None:
        """A metadata write resolved against the key's latest value (Fabric's txops)."""
        self.public[(ns, key)] = KeyUpdate(value, version, metadata)

    def put_hashed_with_metadata(
        self,
        ns: str,
        coll: str,
        key_hash: bytes,
        value_hash: bytes,
        metadata: bytes | None,
        version: Version,
    ) -> None:
        self.hashed[(ns, coll, key_hash)] = KeyUpdate(value_hash, version, metadata)

    def fabric_update_bytes(self) -> bytes:
        """The public and hashed updates as Fabric's kvledger encodes them for the block's
        commit hash (`deterministicBytesForPubAndHashUpdates`): a txmgr `Updates` message of
        KVWrites, namespaces sorted (the channel config's "" left out), public keys before
        collections, collections and keys sorted, each namespace and collection named once.
        Computed once per batch: the peers sharing a block's validation share its batch."""
        if self._update_bytes is None:
            self._update_bytes = self._encode_updates()
        return self._update_bytes

    def _encode_updates(self) -> bytes:
        public: dict[str, dict[bytes, KeyUpdate]] = {}
        hashed: dict[str, dict[str, dict[bytes, KeyUpdate]]] = {}
        for (ns, key), u in self.public.items():
            if u.value_written:
                public.setdefault(ns, {})[key.encode()] = u
        for (ns, coll, kh), u in self.hashed.items():
            if u.value_written:
                hashed.setdefault(ns, {}).setdefault(coll, {})[kh] = u
        out = bytearray()
        for ns in sorted(set(public) | set(hashed)):
            if ns == "":
                continue
            writes: list[tuple[str, str, bytes, KeyUpdate]] = []
            for raw_key in sorted(public.get(ns, {})):
                writes.append(("", "", raw_key, public[ns][raw_key]))
            for coll in sorted(hashed.get(ns, {})):
                rows = hashed[ns][coll]
                for i, kh in enumerate(sorted(rows)):
                    writes.append(("", coll if i == 0 else "", kh, rows[kh]))
            first = writes[0]
            writes[0] = (ns, first[1], first[2], first[3])
            for wns, wcoll, wkey, u in writes:
                msg = bytearray()
                if wns:
                    msg += _pb_bytes(1, wns.encode())
                if wcoll:
                    msg += _pb_bytes(2, wcoll.encode())
                if wkey:
                    msg += _pb_bytes(3, wkey)
                if u.value is None:
                    msg += b"\x20\x01"  # isDelete = true
                else:
                    msg += _pb_bytes(5, u.value)
                msg += _pb_bytes(6, version_bytes(u.version))
                out += _pb_bytes(1, bytes(msg))
        return bytes(out)

    def touches_range(self, ns: str, start: str, end: str, inclusive_end: bool = False) -> bool:
        for uns, ukey in self.public:
            if uns != ns or ukey < start:
                continue
            if end == "" or ukey < end or (inclusive_end and ukey == end):
                return True
        return False


def _pb_bytes(field_number: int, data: bytes) -> bytes:
    return varint(field_number << 3 | 2) + varint(len(data)) + data


def _order_preserving(n: int) -> bytes:
    raw = n.to_bytes(8, "big").lstrip(b"\x00")
    return bytes([len(raw)]) + raw


def version_bytes(version: Version) -> bytes:
    """Fabric's version.Height.ToBytes: two order-preserving varints, block then tx."""
    return _order_preserving(version[0]) + _order_preserving(version[1])


class StateDB:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """`readonly`: a view of a database another process writes (a peer process reading
        the state its ledger process commits); it opens no writer and bumps `generation`
        when told of a commit (`changed`)."""
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # Bumped after every committed write transaction: a reader that sees the same number
        # twice knows nothing was committed in between (caches of derived values key on it).
        self.generation = 0
        if not readonly:
            self._writer = self._connect()
            self._writer.execute("PRAGMA cache_size=-1024")
            self._writer.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if self.readonly:
            conn.execute("PRAGMA query_only=1")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
        # The block file is the durable record; state is replayed from it after a crash.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        # Many ledgers share one process; a small page cache per connection keeps memory flat.
        conn.execute("PRAGMA cache_size=-512")
        return conn

    def changed(self) -> None:
        """(A read-only view) its writer committed a transaction."""
        self.generation += 1

    @property
    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        if not self.readonly:
            self._writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise RuntimeError(f"state database {self.path} is open read-only here")
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")
            self.generation += 1

    # --- reads ---------------------------------------------------------------------------------

    def savepoint(self) -> int:
        row = self.reader.execute("SELECT block FROM savepoint WHERE id = 1").fetchone()
        return int(row[0]) if row else -1

    def get(self, ns: str, key: str) -> VersionedValue | None:
        row = self.reader.execute(
            "SELECT value, block, tx, metadata FROM state WHERE ns = ? AND key = ?",
            (ns, key.encode()),
        ).fetchone()
        if row is None:
            return None
        return VersionedValue(row[0], (row[1], row[2]), row[3])

    def get_version(self, ns: str, key: str) -> Version | None:
        row = self.reader.execute(
            "SELECT block, tx FROM state WHERE ns = ? AND key = ?", (ns, key.encode())
        ).fetchone()
        return (row[0], row[1]) if row else None

    def get_many(
        self, keys: list[tuple[str, str]], chunk: int = 400
    ) -> dict[tuple[str, str], VersionedValue | None]:
        """Committed values of many keys in few queries; absent keys map to None."""
        out: dict[tuple[str, str], VersionedValue | None] = dict.fromkeys(keys)
        by_ns: dict[str, list[bytes]] = {}
        for ns, key in keys:
            by_ns.setdefault(ns, []).append(key.encode())
        cur = self.reader
        for ns, raw_keys in by_ns.items():
            for i in range(0, len(raw_keys), chunk):
                part = raw_keys[i : i + chunk]
                marks = ",".join("?" * len(part))
                for k, v, b, t, m in cur.execute(
                    "SELECT key, value, block, tx, metadata FROM state"
                    f" WHERE ns = ? AND key IN ({marks})",
                    (ns, *part),
                ):
                    out[(ns, k.decode())] = VersionedValue(v, (b, t), m)
        return out

    def get_many_versions(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Version]:
        out: dict[tuple[str, str], Version] = {}
        cur = self.reader
        for ns, key in keys:
            row = cur.execute(
                "SELECT block, tx FROM state WHERE ns = ? AND key = ?", (ns, key.encode())
            ).fetchone()
            if row is not None:
                out[(ns, key)] = (row[0], row[1])
        return out

    def range(
        self, ns: str, start: str, end: str, *, limit: int | None = None, chunk: int = 200
    ) -> Iterator[tuple[str, VersionedValue]]:
        """Keys in [start, end) ('' end = to the last key), ascending by UTF-8 bytes."""
        lo = start.encode()
        hi = end.encode() if end else None
        first = True
        left = limit
        while left is None or left > 0:
            n = chunk if left is None else min(chunk, left)
            op = ">=" if first else ">"
            if hi is None:
                rows = self.reader.execute(
                    f"SELECT key, value, block, tx, metadata FROM state WHERE ns = ? AND key {op} ?"
                    " ORDER BY key LIMIT ?",
                    (ns, lo, n),
                ).fetchall()
            else:
                rows = self.reader.execute(
                    f"SELECT key, value, block, tx, metadata FROM state WHERE ns = ? AND key {op} ?"
                    " AND key < ? ORDER BY key LIMIT ?",
                    (ns, lo, hi, n),
                ).fetchall()
            for k, v, b, t, m in rows:
                yield k.decode(), VersionedValue(v, (b, t), m)
            if len(rows) < n:
                return
            if left is not None:
                left -= len(rows)
            lo = rows[-1][0]
            first = False

    def get_hashed(self, ns: str, coll: str, key_hash: bytes) -> VersionedValue | None:
        row = self.reader.execute(
            "SELECT value_hash, block, tx, metadata FROM hashed_state"
            " WHERE ns = ? AND coll = ? AND key_hash = ?",
            (ns, coll, key_hash),
        ).fetchone()
        return VersionedValue(row[0], (row[1], row[2]), row[3]) if row else None

    def get_hashed_many(
        self, ns: str, items: list[tuple[str, bytes]]
    ) -> dict[tuple[str, bytes], VersionedValue | None]:
        """Private data hashes of many (collection, key hash) of one namespace in one query."""
        out: dict[tuple[str, bytes], VersionedValue | None] = dict.fromkeys(items)
        if not items:
            return out
        marks = ",".join("?" * len(items))
        for coll, kh, vh, b, t, m in self.reader.execute(
            "SELECT coll, key_hash, value_hash, block, tx, metadata FROM hashed_state"
            f" WHERE ns = ? AND key_hash IN ({marks})",
            (ns, *(kh for _, kh in items)),
        ):
            if (coll, kh) in out:
                out[(coll, kh)] = VersionedValue(vh, (b, t), m)
        return out

    def get_private(self, ns: str, coll: str, key: str) -> VersionedValue | None:
        row = self.reader.execute(
            "SELECT value, block, tx FROM private_state WHERE ns = ? AND coll = ? AND key = ?",
            (ns, coll, key.encode()),
        ).fetchone()
        return VersionedValue(row[0], (row[1], row[2])) if row else None

    def private_range(
        self, ns: str, coll: str, start: str, end: str
    ) -> Iterator[tuple[str, VersionedValue]]:
        sql = (
            "SELECT key, value, block, tx FROM private_state WHERE ns = ? AND coll = ? AND key >= ?"
        )
        args: tuple[object, ...] = (ns, coll, start.encode())
        if end:
            sql += " AND key < ?"
            args += (end.encode(),)
        for k, v, b, t in self.reader.execute(sql + " ORDER BY key", args).fetchall():
            yield k.decode(), VersionedValue(v, (b, t))

    # --- writes (inside transaction()) --------------------------------------------------------

    @staticmethod
    def apply(conn: sqlite3.Connection, batch: UpdateBatch, block_num: int) -> None:
        upsert_keep, upsert_full, meta_only, deletes = [], [], [], []
        for (ns, key), u in batch.public.items():
            k = key.encode()
            if not u.value_written:
                meta_only.append((u.metadata, u.version[0], u.version[1], ns, k))
            elif u.value is None:
                deletes.append((ns, k))
            elif u.metadata is KEEP:
                upsert_keep.append((ns, k, u.value, u.version[0], u.version[1]))
            else:
                upsert_full.append((ns, k, u.value, u.version[0], u.version[1], u.metadata))
        conn.executemany("DELETE FROM state WHERE ns = ? AND key = ?", deletes)
        conn.executemany(
            "INSERT INTO state (ns, key, value, block, tx) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value,"
            " block = excluded.block, tx = excluded.tx",
            upsert_keep,
        )
        conn.executemany(
            "INSERT OR REPLACE INTO state (ns, key, value, block, tx, metadata)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            upsert_full,
        )
        conn.executemany(
            "UPDATE state SET metadata = ?, block = ?, tx = ? WHERE ns = ? AND key = ?", meta_only
        )
        for (ns, coll, kh), u in batch.hashed.items():
            if not u.value_written:
                conn.execute(
                    "UPDATE hashed_state SET metadata = ?, block = ?, tx = ?"
                    " WHERE ns = ? AND coll = ? AND key_hash = ?",
                    (u.metadata, u.version[0], u.version[1], ns, coll, kh),
                )
            elif u.value is None:
                conn.execute(
                    "DELETE FROM hashed_state WHERE ns = ? AND coll = ? AND key_hash = ?",
                    (ns, coll, kh),
                )
            elif u.metadata is KEEP:
                conn.execute(
                    "INSERT INTO hashed_state (ns, coll, key_hash, value_hash, block, tx)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ns, coll, key_hash) DO UPDATE SET"
                    " value_hash = excluded.value_hash, block = excluded.block, tx = excluded.tx",
                    (ns, coll, kh, u.value, u.version[0], u.version[1]),
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO hashed_state"
                    " (ns, coll, key_hash, value_hash, block, tx, metadata)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (ns, coll, kh, u.value, u.version[0], u.version[1], u.metadata),
                )
        for (ns, coll, key), u in batch.private.items():
            if u.value is None:
                conn.execute(
                    "DELETE FROM private_state WHERE ns = ? AND coll = ? AND key = ?",
                    (ns, coll, key.encode()),
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO private_state (ns, coll, key, value, block, tx)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (ns, coll, key.encode(), u.value, u.version[0], u.version[1]),
                )
        conn.execute("INSERT OR REPLACE INTO savepoint (id, block) VALUES (1, ?)", (block_num,))

    def collections(self) -> set[tuple[str, str]]:
        """(namespace, collection) pairs that hold private data hashes."""
        rows = self.reader.execute("SELECT DISTINCT ns, coll FROM hashed_state").fetchall()
        return {(ns, coll) for ns, coll in rows}

    @staticmethod
    def purge_expired(conn: sqlite3.Connection, ns: str, coll: str, before_block: int) -> int:
        """Drop a collection's private values and hashes written before `before_block`."""
        n = conn.execute(
            "DELETE FROM private_state WHERE ns = ? AND coll = ? AND block < ?",
            (ns, coll, before_block),
        ).rowcount
        n += conn.execute(
            "DELETE FROM hashed_state WHERE ns = ? AND coll = ? AND block < ?",
            (ns, coll, before_block),
        ).rowcount
        return n

    def clear(self) -> None:
        """Drop all state (before a rebuild from the block store)."""
        with self.transaction() as conn:
            for table in ("state", "hashed_state", "private_state", "savepoint"):
                conn.execute(f"DELETE FROM {table}")
