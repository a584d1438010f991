from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from network.embedded.rwset import RwsetError, TxSimulator
from network.embedded.statedb import StateDB, UpdateBatch


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    db = StateDB(tmp_path / "s.sqlite")
    b = UpdateBatch()
    for i, k in enumerate(["a", "b", "c", "d"]):
        b.put("cc", k, k.upper().encode(), (3, i))
    with db.transaction() as conn:
        StateDB.apply(conn, b, 3)
    return db


def _kv(sim: TxSimulator, ns: str = "cc") -> kv_rwset_pb2.KVRWSet:
    res = sim.results()
    nsrw = next(n for n in res.public.ns_rwset if n.namespace == ns)
    return kv_rwset_pb2.KVRWSet.FromString(nsrw.rwset)


def test_rwset_reads_record_committed_versions_and_ignore_own_writes(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.put_state("cc", "a", b"new")
    assert sim.get_state("cc", "a") == b"A"  # Fabric does not read its own writes
    assert sim.get_state("cc", "zz") is None
    kv = _kv(sim)
    reads = {
        r.key: (r.version.block_num, r.version.tx_num) if r.HasField("version") else None
        for r in kv.reads
    }
    assert reads == {"a": (3, 0), "zz": None}
    assert [(w.key, w.value) for w in kv.writes] == [("a", b"new")]


def test_rwset_output_is_sorted_by_namespace_and_key(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.put_state("zz", "k", b"1")
    sim.put_state("cc", "b", b"1")
    sim.del_state("cc", "a")
    sim.get_state("cc", "d")
    sim.get_state("cc", "c")
    res = sim.results()
    assert [n.namespace for n in res.public.ns_rwset] == ["cc", "zz"]
    kv = kv_rwset_pb2.KVRWSet.FromString(res.public.ns_rwset[0].rwset)
    assert [r.key for r in kv.reads] == ["c", "d"]
    assert [(w.key, w.is_delete) for w in kv.writes] == [("a", True), ("b", False)]


def test_rwset_range_query_records_raw_reads(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    assert sim.get_state_range("cc", "b", "d") == [("b", b"B"), ("c", b"C")]
    it = sim.range_iterator("cc", "a", "")
    assert it.next_batch(1) == [("a", b"A")]
    it.close()
    kv = _kv(sim)
    full, partial = kv.range_queries_info
    assert (full.start_key, full.end_key, full.itr_exhausted) == ("b", "d", True)
    assert [r.key for r in full.raw_reads.kv_reads] == ["b", "c"]
    assert not partial.itr_exhausted
    assert [r.key for r in partial.raw_reads.kv_reads] == ["a"]


def test_rwset_pagination_limit_and_bookmark(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    it = sim.range_iterator("cc", "a", "", limit=2)
    assert [k for k, _ in it] == ["a", "b"]
    assert it.next_key() == "c"
    last = sim.range_iterator("cc", "c", "", limit=2)
    assert [k for k, _ in last] == ["c", "d"]
    kv = _kv(sim)
    assert [q.itr_exhausted for q in kv.range_queries_info] == [False, True]


def test_rwset_paginated_queries_and_writes_do_not_mix(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.range_iterator("cc", "a", "", limit=1)
    with pytest.raises(RwsetError, match="paginated query. Writes are not allowed"):
        sim.put_state("cc", "x", b"1")
    sim2 = TxSimulator(db, "t2")
    sim2.put_state("cc", "x", b"1")
    with pytest.raises(RwsetError, match="paginated queries are not supported"):
        sim2.range_iterator("cc", "a", "", limit=1)


def test_rwset_private_writes_are_hashed_in_public_set(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.put_private_data("cc", "coll", "pk", b"pv")
    sim.del_private_data("cc", "coll", "gone")
    assert sim.get_private_data("cc", "coll", "nothing") is None
    res = sim.results()
    assert res.private is not None
    nsrw = res.public.ns_rwset[0]
    chashed = nsrw.collection_hashed_rwset[0]
    hashed = kv_rwset_pb2.HashedRWSet.FromString(chashed.hashed_rwset)
    writes = {w.key_hash: (w.value_hash, w.is_delete) for w in hashed.hashed_writes}
    assert writes[hashlib.sha256(b"pk").digest()] == (hashlib.sha256(b"pv").digest(), False)
    assert writes[hashlib.sha256(b"gone").digest()] == (b"", True)
    assert [r.key_hash for r in hashed.hashed_reads] == [hashlib.sha256(b"nothing").digest()]
    cpvt = res.private.ns_pvt_rwset[0].collection_pvt_rwset[0]
    assert chashed.pvt_rwset_hash == hashlib.sha256(cpvt.rwset).digest()
    pvt_kv = kv_rwset_pb2.KVRWSet.FromString(cpvt.rwset)
    assert [(w.key, w.value) for w in pvt_kv.writes] == [("gone", b""), ("pk", b"pv")]
    assert b"pv" not in res.public_bytes()


def test_rwset_purge_marks_the_hashed_write(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.purge_private_data("cc", "coll", "k")
    chashed = sim.results().public.ns_rwset[0].collection_hashed_rwset[0]
    w = kv_rwset_pb2.HashedRWSet.FromString(chashed.hashed_rwset).hashed_writes[0]
    assert w.is_delete and w.is_purge


def test_rwset_metadata_write_and_read(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    assert sim.get_state_metadata("cc", "a") == {}
    sim.set_state_metadata("cc", "a", {"VALIDATION_PARAMETER": b"p"})
    kv = _kv(sim)
    assert kv.metadata_writes[0].key == "a"
    assert [(e.name, e.value) for e in kv.metadata_writes[0].entries] == [
        ("VALIDATION_PARAMETER", b"p")
    ]


def test_rwset_simulator_is_closed_after_results(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.results()
    with pytest.raises(RwsetError, match="already finished"):
        sim.get_state("cc", "a")


def _reads(n: int) -> list[kv_rwset_pb2.KVRead]:
    return [
        kv_rwset_pb2.KVRead(key=f"k{i:03d}", version=kv_rwset_pb2.Version(block_num=1, tx_num=i))
        for i in range(n)
    ]


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _chunk(reads: list[kv_rwset_pb2.KVRead]) -> bytes:
    return _h(kv_rwset_pb2.QueryReads(kv_reads=reads).SerializeToString())


def test_rwset_short_scans_stay_raw_long_ones_become_merkle_summaries() -> None:
    from network.embedded.rwset import QueryResultsHelper

    helper = QueryResultsHelper(max_degree=3)
    for r in _reads(3):
        helper.add(r)
    raw, summary = helper.done()
    assert summary is None and [r.key for r in raw] == ["k000", "k001", "k002"]

    reads = _reads(10)
    helper = QueryResultsHelper(max_degree=3)
    for r in reads:
        helper.add(r)
    raw, summary = helper.done()
    assert raw == [] and summary is not None
    assert (summary.max_degree, summary.max_level) == (3, 1)
    assert list(summary.max_level_hashes) == [
        _chunk(reads[0:4]),
        _chunk(reads[4:8]),
        _chunk(reads[8:10]),
    ]


def test_rwset_merkle_tree_folds_levels() -> None:
    from network.embedded.rwset import QueryResultsHelper

    reads = _reads(9)
    helper = QueryResultsHelper(max_degree=2)
    for r in reads:
        helper.add(r)
    _, summary = helper.done()
    assert summary is not None
    leaves = [_chunk(reads[0:3]), _chunk(reads[3:6]), _chunk(reads[6:9])]
    assert summary.max_level == 2
    assert list(summary.max_level_hashes) == [_h(*leaves)]


def test_rwset_scan_beyond_fifty_keys_is_summarised(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    b = UpdateBatch()
    for i in range(120):
        b.put("cc", f"k{i:03d}", b"v", (2, i))
    with db.transaction() as conn:
        StateDB.apply(conn, b, 2)
    sim = TxSimulator(db, "t")
    assert len(sim.get_state_range("cc", "k", "l")) == 120
    it = sim.range_iterator("cc", "k", "l")
    it.next_batch(10)
    full, partial = _kv(sim).range_queries_info
    assert full.itr_exhausted and full.end_key == "l"
    assert full.HasField("reads_merkle_hashes") and not full.raw_reads.kv_reads
    assert full.reads_merkle_hashes.max_degree == 50
    assert not partial.itr_exhausted and partial.end_key == "k009"
    assert len(partial.raw_reads.kv_reads) == 10


def test_rwset_collections_sort_by_plain_key_as_fabrics_builder(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    keys = ["namespaces/metadata/x#1", "chaincode-sources/fields/x#1/PackageID", "b", "a"]
    for k in keys:
        sim.put_private_data("cc", "coll", k, b"v")
        sim.get_private_data_hash("cc", "coll", k)
    coll = sim.results().public.ns_rwset[0].collection_hashed_rwset[0]
    hashed = kv_rwset_pb2.HashedRWSet.FromString(coll.hashed_rwset)
    want = [hashlib.sha256(k.encode()).digest() for k in sorted(keys)]
    assert [w.key_hash for w in hashed.hashed_writes] == want  # not sorted by hash
    assert [r.key_hash for r in hashed.hashed_reads] == want


def test_rwset_an_empty_value_is_a_delete(db: StateDB) -> None:
    sim = TxSimulator(db, "t")
    sim.put_state("cc", "a", b"")
    sim.put_private_data("cc", "coll", "p", b"")
    res = sim.results()
    (write,) = _kv_of(res, "cc").writes
    assert write.is_delete and not write.value
    coll = res.public.ns_rwset[0].collection_hashed_rwset[0]
    (hw,) = kv_rwset_pb2.HashedRWSet.FromString(coll.hashed_rwset).hashed_writes
    assert hw.is_delete and not hw.value_hash


def _kv_of(res: object, ns: str) -> kv_rwset_pb2.KVRWSet:
    nsrw = next(n for n in res.public.ns_rwset if n.namespace == ns)  # type: ignore[attr-defined]
    return kv_rwset_pb2.KVRWSet.FromString(nsrw.rwset)


def test_rwset_collection_check_reads_through_the_simulation(db: StateDB) -> None:
    def known(sim: TxSimulator, ns: str) -> frozenset[str]:
        sim.get_state("_lifecycle", f"namespaces/metadata/{ns}")  # as Fabric's validator does
        return frozenset({"coll"})

    sim = TxSimulator(db, "t", collections=known)
    sim.put_private_data("cc", "coll", "k", b"v")
    with pytest.raises(RwsetError, match=r"collection \[other\] not defined .* chaincode \[cc\]"):
        sim.put_private_data("cc", "other", "k", b"v")
    assert [r.key for r in _kv_of(sim.results(), "_lifecycle").reads] == ["namespaces/metadata/cc"]


def test_rwset_private_data_behind_its_hash_is_not_returned(db: StateDB) -> None:
    b = UpdateBatch()
    b.put_hashed("cc", "coll", hashlib.sha256(b"k").digest(), b"h", (4, 0))
    with db.transaction() as conn:
        StateDB.apply(conn, b, 4)
    sim = TxSimulator(db, "t")
    with pytest.raises(RwsetError, match="private data matching public hash version is not"):
        sim.get_private_data("cc", "coll", "k")
    assert sim.get_private_data_hash("cc", "coll", "k") == b"h"
