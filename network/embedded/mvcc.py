"""MVCC validation, as Fabric's `core/ledger/kvledger/txmgmt/validation` does it.

A transaction's reads must still see the committed versions it recorded, and no earlier valid
transaction of the same block may have written them (MVCC_READ_CONFLICT); a range query re-run
now must return the same keys at the same versions (PHANTOM_READ_CONFLICT), compared raw or
through the recorded Merkle summary. Committed state is read through a StateView preloaded with
the block's keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import transaction_pb2

from .rwset import MAX_DEGREE, QueryResultsHelper, TxRWSet
from .statedb import StateDB, UpdateBatch, Version, VersionedValue

Code = SimpleNamespace(**dict(transaction_pb2.TxValidationCode.items()))


def check_mvcc(rw: TxRWSet, db: StateDB | StateView, batch: UpdateBatch) -> int:
    """MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT or VALID for one endorsed transaction."""
    for ns, kv, colls in rw.ns:
        for r in kv.reads:
            if (ns, r.key) in batch.public:
                return Code.MVCC_READ_CONFLICT
            if db.get_version(ns, r.key) != _ver(r):
                return Code.MVCC_READ_CONFLICT
        for rq in kv.range_queries_info:
            if not range_ok(ns, rq, db, batch):
                return Code.PHANTOM_READ_CONFLICT
        for coll, hashed, _ in colls:
            for hr in hashed.hashed_reads:
                if (ns, coll, hr.key_hash) in batch.hashed:
                    return Code.MVCC_READ_CONFLICT
                hv = db.get_hashed(ns, coll, hr.key_hash)
                if (hv.version if hv else None) != _ver(hr):
                    return Code.MVCC_READ_CONFLICT
    return Code.VALID


def _ver(read: kv_rwset_pb2.KVRead | kv_rwset_pb2.KVReadHash) -> Version | None:
    if not read.HasField("version"):
        return None
    return (read.version.block_num, read.version.tx_num)


def range_ok(
    ns: str, rq: kv_rwset_pb2.RangeQueryInfo, db: StateDB | StateView, batch: UpdateBatch
) -> bool:
    """Fabric's phantom check: re-run the scan over [start, end) — [start, last key read] when
    the chaincode stopped early — and expect the same keys at the same versions, compared raw
    or through the Merkle summary the simulation recorded."""
    inclusive = not rq.itr_exhausted
    end = rq.end_key
    merkle = rq.reads_merkle_hashes if rq.HasField("reads_merkle_hashes") else None
    reads = rq.raw_reads.kv_reads
    if inclusive and merkle is None and not reads:
        return True
    if batch.touches_range(ns, rq.start_key, end, inclusive):
        return False
    scan_end = "" if inclusive else end
    if merkle is not None:
        helper = QueryResultsHelper(max_degree=merkle.max_degree or MAX_DEGREE)
        for key, vv in db.range(ns, rq.start_key, scan_end):
            if inclusive and key > end:
                break
            helper.add(kv_rwset_pb2.KVRead(key=key, version=_pb_version(vv.version)))
        _, summary = helper.done()
        return summary is not None and summary.SerializeToString() == merkle.SerializeToString()
    i = 0
    for key, vv in db.range(ns, rq.start_key, scan_end):
        if inclusive and key > end:
            break
        if i >= len(reads):
            # Extra keys matter only when the scan ran to its end (Fabric ignores them otherwise).
            return inclusive
        r = reads[i]
        if r.key != key or _ver(r) != vv.version:
            return False
        i += 1
    return i == len(reads)


def _pb_version(v: Version) -> kv_rwset_pb2.Version:
    return kv_rwset_pb2.Version(block_num=v[0], tx_num=v[1])


class StateView:
    """Committed state as of the block's start, with the block's keys preloaded."""

    def __init__(self, db: StateDB, loaded: dict[tuple[str, str], VersionedValue | None]) -> None:
        self._db = db
        self._loaded = loaded

    def get(self, ns: str, key: str) -> VersionedValue | None:
        hit = self._loaded.get((ns, key), _MISSING)
        if hit is _MISSING:
            return self._db.get(ns, key)
        return hit  # type: ignore[return-value]

    def get_version(self, ns: str, key: str) -> Version | None:
        vv = self.get(ns, key)
        return vv.version if vv is not None else None

    def get_hashed(self, ns: str, coll: str, key_hash: bytes) -> VersionedValue | None:
        return self._db.get_hashed(ns, coll, key_hash)

    def range(self, ns: str, start: str, end: str) -> Iterator[tuple[str, VersionedValue]]:
        return self._db.range(ns, start, end)


_MISSING = object()
