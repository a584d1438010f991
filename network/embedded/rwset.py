"""Transaction simulation: record what a chaincode reads and writes into Fabric's rwset messages.

Follows Fabric's lockbased TxSimulator and rwset builder: the first read of a key records its
committed version (no read-your-writes), range queries record their raw reads for phantom checks,
namespaces, keys and collections come out sorted, and private writes travel in a separate private
rwset while the public one carries SHA-256 hashes of each private key and value.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from .statedb import StateDB, Version, VersionedValue, decode_metadata

KV = rwset_pb2.TxReadWriteSet.KV

# (simulation, namespace) -> the collection names the namespace may use; the ledger's check
# reads the chaincode's definition through that simulation, as Fabric's collection validator.
CollectionCheck = Callable[["TxSimulator", str], frozenset[str]]


class RwsetError(ValueError):
    """A simulation call breaks one of Fabric's simulator rules."""


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def value_hash(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def _version(v: Version | None) -> kv_rwset_pb2.Version | None:
    return kv_rwset_pb2.Version(block_num=v[0], tx_num=v[1]) if v is not None else None


@dataclass
class SimulationResults:
    public: rwset_pb2.TxReadWriteSet
    private: rwset_pb2.TxPvtReadWriteSet | None

    def public_bytes(self) -> bytes:
        return self.public.SerializeToString()


@dataclass
class _Collection:
    hashed_reads: dict[str, Version | None] = field(default_factory=dict)  # by plain key
    writes: dict[str, bytes | None] = field(default_factory=dict)
    purges: set[str] = field(default_factory=set)
    metadata_writes: dict[str, dict[str, bytes]] = field(default_factory=dict)


@dataclass
class _Namespace:
    reads: dict[str, Version | None] = field(default_factory=dict)
    ranges: list[RangeIterator] = field(default_factory=list)
    writes: dict[str, bytes | None] = field(default_factory=dict)
    metadata_writes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    collections: dict[str, _Collection] = field(default_factory=dict)

    def coll(self, name: str) -> _Collection:
        c = self.collections.get(name)
        if c is None:
            c = self.collections[name] = _Collection()
        return c


MAX_DEGREE = (
    50  # Fabric's maxDegreeQueryReadsHashing: longer scans are recorded as a Merkle summary
)


class QueryResultsHelper:
    """Fabric's range-query results summary: raw KVReads up to `max_degree` results, beyond that
    a Merkle tree over SHA-256 of serialised QueryReads chunks of max_degree + 1 reads, each level
    folding max_degree + 1 hashes, reported as its top level (QueryReadsMerkleSummary)."""

    def __init__(self, max_degree: int = MAX_DEGREE, hashing: bool = True) -> None:
        if max_degree < 2:
            raise ValueError(f"max_degree {max_degree} must be at least 2")
        self.max_degree = max_degree
        self.hashing = hashing
        self.pending: list[kv_rwset_pb2.KVRead] = []
        self._tree: dict[int, list[bytes]] = {}
        self._max_level = 1

    def add(self, read: kv_rwset_pb2.KVRead) -> None:
        self.pending.append(read)
        if self.hashing and len(self.pending) > self.max_degree:
            self._flush()

    def _flush(self) -> None:
        chunk = kv_rwset_pb2.QueryReads(kv_reads=self.pending).SerializeToString()
        self.pending = []
        self._push(hashlib.sha256(chunk).digest())

    def _push(self, leaf: bytes) -> None:
        level = 1
        self._tree.setdefault(level, []).append(leaf)
        while len(self._tree[level]) > self.max_degree:
            folded = hashlib.sha256(b"".join(self._tree.pop(level))).digest()
            level += 1
            self._tree.setdefault(level, []).append(folded)
            self._max_level = max(self._max_level, level)

    def done(self) -> tuple[list[kv_rwset_pb2.KVRead], kv_rwset_pb2.QueryReadsMerkleSummary | None]:
        """(raw reads, None) for short scans, ([], summary) once hashing began."""
        if not self.hashing or not self._tree:
            return self.pending, None
        if self.pending:
            self._flush()
        level = 1
        while level < self._max_level:
            hashes = self._tree.pop(level, [])
            if hashes:
                top = hashes[0] if len(hashes) == 1 else hashlib.sha256(b"".join(hashes)).digest()
                self._tree.setdefault(level + 1, []).append(top)
            level += 1
        final = self._tree[self._max_level]
        if len(final) > self.max_degree:
            del self._tree[self._max_level]
            self._max_level += 1
            self._tree[self._max_level] = [hashlib.sha256(b"".join(final)).digest()]
        return [], kv_rwset_pb2.QueryReadsMerkleSummary(
            max_degree=self.max_degree,
            max_level=self._max_level,
            max_level_hashes=list(self._tree[self._max_level]),
        )


class RangeIterator:
    """A range scan that records each key as the chaincode consumes it (phantom detection).

    As in Fabric, the recorded end key is the last key read until the scan is exhausted, when
    it becomes the query's end key again.
    """

    def __init__(
        self, sim: TxSimulator, ns: str, start: str, end: str, limit: int | None = None
    ) -> None:
        self._sim = sim
        self._start = start
        self._end = end
        self._last_key: str | None = None
        self._exhausted = False
        self._helper = QueryResultsHelper()
        self._final: (
            tuple[list[kv_rwset_pb2.KVRead], kv_rwset_pb2.QueryReadsMerkleSummary | None] | None
        ) = None
        self._src: Iterator[tuple[str, VersionedValue]] = sim.db.range(ns, start, end)
        self._limit = limit
        self._count = 0
        self._peeked: tuple[str, VersionedValue] | None = None
        self._done = False
        sim._ns(ns).ranges.append(self)

    def info(self) -> kv_rwset_pb2.RangeQueryInfo:
        """The RangeQueryInfo as recorded so far (computed once the simulation ends)."""
        end = self._end if self._exhausted or self._last_key is None else self._last_key
        info = kv_rwset_pb2.RangeQueryInfo(
            start_key=self._start, end_key=end, itr_exhausted=self._exhausted
        )
        if self._final is None:
            self._final = self._helper.done()
        reads, summary = self._final
        if summary is not None:
            info.reads_merkle_hashes.CopyFrom(summary)
        else:
            info.raw_reads.kv_reads.extend(reads)
        return info

    def _pull(self) -> tuple[str, VersionedValue] | None:
        if self._peeked is not None:
            item, self._peeked = self._peeked, None
            return item
        return next(self._src, None)

    def next_key(self) -> str | None:
        """The key the next read would return, without recording it (pagination bookmarks)."""
        if self._peeked is None:
            self._peeked = next(self._src, None)
        return self._peeked[0] if self._peeked is not None else None

    def next(self) -> tuple[str, bytes] | None:
        if self._done:
            return None
        if self._limit is not None and self._count >= self._limit:
            if self.next_key() is None:
                self._exhausted = True
            self._done = True
            return None
        item = self._pull()
        if item is None:
            self._exhausted = True
            self._done = True
            return None
        key, vv = item
        self._count += 1
        self._last_key = key
        self._helper.add(kv_rwset_pb2.KVRead(key=key, version=_version(vv.version)))
        return key, vv.value

    def next_batch(self, n: int) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        while len(out) < n:
            item = self.next()
            if item is None:
                break
            out.append(item)
        return out

    @property
    def exhausted(self) -> bool:
        return self._done

    def close(self) -> None:
        self._done = True

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        while (item := self.next()) is not None:
            yield item


_UNREAD = object()


class TxSimulator:
    """Simulates one transaction on one peer against its committed state."""

    def __init__(self, db: StateDB, txid: str, collections: CollectionCheck | None = None) -> None:
        self.db = db
        self.txid = txid
        self._collections = collections
        self._known_collections: dict[str, frozenset[str]] = {}  # per namespace, once
        self._nss: dict[str, _Namespace] = {}
        self._values: dict[tuple[str, str], bytes | None] = {}  # public values read so far
        self._hashes: dict[tuple[str, str, str], VersionedValue | None] = {}  # private hashes
        self._lock = threading.RLock()
        self._write_done = False
        self._paginated = False
        self._finished = False

    def _ns(self, ns: str) -> _Namespace:
        n = self._nss.get(ns)
        if n is None:
            n = self._nss[ns] = _Namespace()
        return n

    def _collection_used(self, ns: str, coll: str) -> None:
        """Fabric's collection name check, made through this simulation as Fabric makes it:
        the first use of a namespace's collections reads the chaincode's definition (so those
        `_lifecycle` keys join the read set) and an undefined collection is refused."""
        if self._collections is None:
            return
        known = self._known_collections.get(ns)
        if known is None:
            known = self._known_collections[ns] = self._collections(self, ns)
        if coll not in known:
            raise RwsetError(
                f"collection [{coll}] not defined in the collection config for chaincode [{ns}]"
            )

    def _check_open(self) -> None:
        if self._finished:
            raise RwsetError(f"txid [{self.txid}]: simulation already finished")

    def _before_write(self) -> None:
        self._check_open()
        if self._paginated:
            raise RwsetError(
                f"txid [{self.txid}]: transaction has already performed a paginated query. "
                "Writes are not allowed"
            )
        self._write_done = True

    # --- public state ---------------------------------------------------------------------------

    def get_state(self, ns: str, key: str) -> bytes | None:
        with self._lock:
            self._check_open()
            # A key read again in the same simulation answers what it answered first: Fabric's
            # simulation holds the state still while it runs; this read needs no query.
            seen = self._values.get((ns, key), _UNREAD)
            if seen is not _UNREAD:
                return seen  # type: ignore[return-value]
            vv = self.db.get(ns, key)
            reads = self._ns(ns).reads
            if key not in reads:
                reads[key] = vv.version if vv else None
            value = vv.value if vv else None
            self._values[(ns, key)] = value
            return value

    def get_states(self, ns: str, keys: list[str]) -> list[bytes | None]:
        """GET_STATE_MULTIPLE: committed values of many keys, read in one query, each recorded."""
        with self._lock:
            self._check_open()
            unread = [(ns, key) for key in keys if (ns, key) not in self._values]
            found = self.db.get_many(unread) if unread else {}
            reads = self._ns(ns).reads
            for (_, key), vv in found.items():
                if key not in reads:
                    reads[key] = vv.version if vv else None
                self._values[(ns, key)] = vv.value if vv else None
            return [self._values[(ns, key)] for key in keys]

    def get_state_metadata(self, ns: str, key: str) -> dict[str, bytes]:
        with self._lock:
            self._check_open()
            vv = self.db.get(ns, key)
            reads = self._ns(ns).reads
            if key not in reads:
                reads[key] = vv.version if vv else None
            return decode_metadata(vv.metadata) if vv else {}

    def put_state(self, ns: str, key: str, value: bytes) -> None:
        with self._lock:
            self._before_write()
            # Fabric's rwset builder: an empty value is a delete (FAB-18386)
            self._ns(ns).writes[key] = bytes(value) or None

    def del_state(self, ns: str, key: str) -> None:
        with self._lock:
            self._before_write()
            self._ns(ns).writes[key] = None

    def set_state_metadata(self, ns: str, key: str, metadata: dict[str, bytes]) -> None:
        with self._lock:
            self._before_write()
            self._ns(ns).metadata_writes[key] = dict(metadata)

    def range_iterator(
        self, ns: str, start: str, end: str, limit: int | None = None
    ) -> RangeIterator:
        """An iterator over [start, end); with `limit`, a paginated query (read-only tx only)."""
        with self._lock:
            self._check_open()
            if limit is not None:
                if self._write_done:
                    raise RwsetError(
                        f"txid [{self.txid}]: paginated queries are not supported in a "
                        "transaction that writes; do reads before writes or use a separate query"
                    )
                self._paginated = True
            return RangeIterator(self, ns, start, end, limit)

    def get_state_range(
        self, ns: str, start: str, end: str, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        return list(self.range_iterator(ns, start, end, limit))

    # --- private data ---------------------------------------------------------------------------

    def get_private_data(self, ns: str, coll: str, key: str) -> bytes | None:
        with self._lock:
            self._check_open()
            self._collection_used(ns, coll)
            hv = self.db.get_hashed(ns, coll, key_hash(key))
            pv = self.db.get_private(ns, coll, key)
            hashed_version = hv.version if hv else None
            private_version = pv.version if pv else None
            if hashed_version != private_version:
                # the peer holds the hash of a newer value than its private data (it missed it)
                raise RwsetError(
                    "private data matching public hash version is not available. Public hash "
                    f"version = {_height(hashed_version)}, Private data version = "
                    f"{_height(private_version)}"
                )
            reads = self._ns(ns).coll(coll).hashed_reads
            if key not in reads:
                reads[key] = private_version
            return pv.value if pv else None

    def prefetch_private_data_hashes(self, ns: str, keys: list[tuple[str, str]]) -> None:
        """Load the hashes of (collection, key)s in one query; nothing is recorded until a
        key is read (`get_private_data_hash`)."""
        with self._lock:
            want = [(c, k) for c, k in keys if (ns, c, k) not in self._hashes]
            found = self.db.get_hashed_many(ns, [(c, key_hash(k)) for c, k in want])
            for c, k in want:
                self._hashes[(ns, c, k)] = found[(c, key_hash(k))]

    def get_private_data_hash(self, ns: str, coll: str, key: str) -> bytes | None:
        with self._lock:
            self._check_open()
            self._collection_used(ns, coll)
            if (ns, coll, key) not in self._hashes:
                self._hashes[(ns, coll, key)] = self.db.get_hashed(ns, coll, key_hash(key))
            hv = self._hashes[(ns, coll, key)]
            reads = self._ns(ns).coll(coll).hashed_reads
            if key not in reads:
                reads[key] = hv.version if hv else None
            return hv.value if hv else None

    def get_private_data_metadata(self, ns: str, coll: str, key: str) -> dict[str, bytes]:
        with self._lock:
            self._check_open()
            self._collection_used(ns, coll)
            hv = self.db.get_hashed(ns, coll, key_hash(key))
            reads = self._ns(ns).coll(coll).hashed_reads
            if key not in reads:
                reads[key] = hv.version if hv else None
            return decode_metadata(hv.metadata) if hv else {}

    def get_private_data_range(
        self, ns: str, coll: str, start: str, end: str
    ) -> list[tuple[str, bytes]]:
        # Fabric records no range info for private data: no phantom protection there.
        with self._lock:
            self._check_open()
            self._collection_used(ns, coll)
            return [(k, vv.value) for k, vv in self.db.private_range(ns, coll, start, end)]

    def put_private_data(self, ns: str, coll: str, key: str, value: bytes) -> None:
        with self._lock:
            self._before_write()
            self._collection_used(ns, coll)
            self._ns(ns).coll(coll).writes[key] = bytes(value) or None

    def del_private_data(self, ns: str, coll: str, key: str) -> None:
        with self._lock:
            self._before_write()
            self._collection_used(ns, coll)
            self._ns(ns).coll(coll).writes[key] = None

    def purge_private_data(self, ns: str, coll: str, key: str) -> None:
        with self._lock:
            self._before_write()
            self._collection_used(ns, coll)
            c = self._ns(ns).coll(coll)
            c.writes[key] = None
            c.purges.add(key)

    def set_private_data_metadata(
        self, ns: str, coll: str, key: str, metadata: dict[str, bytes]
    ) -> None:
        with self._lock:
            self._before_write()
            self._collection_used(ns, coll)
            self._ns(ns).coll(coll).metadata_writes[key] = dict(metadata)

    # --- results --------------------------------------------------------------------------------

    def done(self) -> None:
        self._finished = True

    def results(self) -> SimulationResults:
        with self._lock:
            self._finished = True
            pub = rwset_pb2.TxReadWriteSet(data_model=KV)
            pvt = rwset_pb2.TxPvtReadWriteSet(data_model=KV)
            for ns_name in sorted(self._nss):
                ns = self._nss[ns_name]
                kv = kv_rwset_pb2.KVRWSet(
                    reads=[
                        kv_rwset_pb2.KVRead(key=k, version=_version(ns.reads[k]))
                        for k in sorted(ns.reads)
                    ],
                    range_queries_info=_unique_ranges(ns.ranges),
                    writes=[_kv_write(k, ns.writes[k]) for k in sorted(ns.writes)],
                    metadata_writes=[
                        _md_write(k, ns.metadata_writes[k]) for k in sorted(ns.metadata_writes)
                    ],
                )
                nsrw = rwset_pb2.NsReadWriteSet(namespace=ns_name, rwset=kv.SerializeToString())
                ns_pvt = rwset_pb2.NsPvtReadWriteSet(namespace=ns_name)
                for cname in sorted(ns.collections):
                    chashed, cpvt = _collection_sets(cname, ns.collections[cname])
                    nsrw.collection_hashed_rwset.append(chashed)
                    if cpvt is not None:
                        ns_pvt.collection_pvt_rwset.append(cpvt)
                pub.ns_rwset.append(nsrw)
                if ns_pvt.collection_pvt_rwset:
                    pvt.ns_pvt_rwset.append(ns_pvt)
            return SimulationResults(pub, pvt if pvt.ns_pvt_rwset else None)


def _unique_ranges(ranges: list[RangeIterator]) -> list[kv_rwset_pb2.RangeQueryInfo]:
    """Fabric keeps one RangeQueryInfo per (start, end, exhausted), the first recorded."""
    seen: set[tuple[str, str, bool]] = set()
    out = []
    for r in ranges:
        info = r.info()
        key = (info.start_key, info.end_key, info.itr_exhausted)
        if key not in seen:
            seen.add(key)
            out.append(info)
    return out


def _height(v: Version | None) -> str:
    return "<nil>" if v is None else f"{{BlockNum: {v[0]}, TxNum: {v[1]}}}"


def _kv_write(key: str, value: bytes | None) -> kv_rwset_pb2.KVWrite:
    if value is None:
        return kv_rwset_pb2.KVWrite(key=key, is_delete=True)
    return kv_rwset_pb2.KVWrite(key=key, value=value)


def _md_write(key: str, entries: dict[str, bytes]) -> kv_rwset_pb2.KVMetadataWrite:
    return kv_rwset_pb2.KVMetadataWrite(
        key=key,
        entries=[kv_rwset_pb2.KVMetadataEntry(name=n, value=v) for n, v in sorted(entries.items())],
    )


def _collection_sets(
    name: str, c: _Collection
) -> tuple[rwset_pb2.CollectionHashedReadWriteSet, rwset_pb2.CollectionPvtReadWriteSet | None]:
    # Fabric's collection builders sort by the plain key, not by its hash.
    hashed = kv_rwset_pb2.HashedRWSet(
        hashed_reads=[
            kv_rwset_pb2.KVReadHash(key_hash=key_hash(k), version=_version(c.hashed_reads[k]))
            for k in sorted(c.hashed_reads)
        ]
    )
    writes = sorted(c.writes)
    for k in writes:
        v = c.writes[k]
        hashed.hashed_writes.append(
            kv_rwset_pb2.KVWriteHash(
                key_hash=key_hash(k),
                is_delete=v is None,
                value_hash=value_hash(v) if v is not None else b"",
                is_purge=k in c.purges,
            )
        )
    for k in sorted(c.metadata_writes):
        hashed.metadata_writes.append(
            kv_rwset_pb2.KVMetadataWriteHash(
                key_hash=key_hash(k),
                entries=[
                    kv_rwset_pb2.KVMetadataEntry(name=n, value=v)
                    for n, v in sorted(c.metadata_writes[k].items())
                ],
            )
        )
    pvt: rwset_pb2.CollectionPvtReadWriteSet | None = None
    chashed = rwset_pb2.CollectionHashedReadWriteSet(
        collection_name=name, hashed_rwset=hashed.SerializeToString()
    )
    if writes or c.metadata_writes:
        # the private side names the keys whose metadata changed, without the entries
        kv = kv_rwset_pb2.KVRWSet(
            writes=[_kv_write(k, c.writes[k]) for k in writes],
            metadata_writes=[
                kv_rwset_pb2.KVMetadataWrite(key=k) for k in sorted(c.metadata_writes)
            ],
        )
        raw = kv.SerializeToString()
        pvt = rwset_pb2.CollectionPvtReadWriteSet(collection_name=name, rwset=raw)
        chashed.pvt_rwset_hash = hashlib.sha256(raw).digest()
    return chashed, pvt


def parse_hashed_rwset(raw: bytes) -> kv_rwset_pb2.HashedRWSet:
    return kv_rwset_pb2.HashedRWSet.FromString(raw)


@dataclass
class TxRWSet:
    """A transaction's rwset parsed once: (namespace, KVRWSet, [(collection, HashedRWSet,
    pvt_rwset_hash)])."""

    ns: list[tuple[str, kv_rwset_pb2.KVRWSet, list[tuple[str, kv_rwset_pb2.HashedRWSet, bytes]]]]


def parse_tx_rwset(raw: bytes) -> TxRWSet:
    txrw = rwset_pb2.TxReadWriteSet.FromString(raw)
    out = []
    for nsrw in txrw.ns_rwset:
        kv = kv_rwset_pb2.KVRWSet.FromString(nsrw.rwset)
        colls = [
            (
                c.collection_name,
                kv_rwset_pb2.HashedRWSet.FromString(c.hashed_rwset),
                c.pvt_rwset_hash,
            )
            for c in nsrw.collection_hashed_rwset
        ]
        out.append((nsrw.namespace, kv, colls))
    return TxRWSet(out)
