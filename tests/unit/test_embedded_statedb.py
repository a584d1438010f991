from __future__ import annotations

from pathlib import Path

import pytest

from network.embedded.statedb import StateDB, UpdateBatch, decode_metadata, encode_metadata


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    return StateDB(tmp_path / "state.sqlite")


def _commit(db: StateDB, batch: UpdateBatch, block: int) -> None:
    with db.transaction() as conn:
        StateDB.apply(conn, batch, block)


def test_statedb_versions_are_block_and_tx(db: StateDB) -> None:
    b = UpdateBatch()
    b.put("cc", "a", b"1", (1, 0))
    b.put("cc", "b", b"2", (1, 3))
    _commit(db, b, 1)
    assert db.get("cc", "a").value == b"1"  # type: ignore[union-attr]
    assert db.get_version("cc", "b") == (1, 3)
    assert db.get("other", "a") is None
    assert db.savepoint() == 1
    b = UpdateBatch()
    b.put("cc", "a", None, (2, 0))
    _commit(db, b, 2)
    assert db.get("cc", "a") is None


def test_statedb_range_orders_by_utf8_bytes_and_handles_composite_keys(db: StateDB) -> None:
    b = UpdateBatch()
    keys = ["b", "a", "\x00pod\x00IT1\x00", "\x00pod\x00IT2\x00", "é", "z", "\x00x\x00"]
    for i, k in enumerate(keys):
        b.put("cc", k, k.encode(), (1, i))
    _commit(db, b, 1)
    assert [k for k, _ in db.range("cc", "", "")] == sorted(keys, key=lambda k: k.encode())
    # a partial composite key query as the shim builds it: prefix .. prefix + U+10FFFF
    prefix = "\x00pod\x00"
    assert [k for k, _ in db.range("cc", prefix, prefix + "\U0010ffff")] == [
        "\x00pod\x00IT1\x00",
        "\x00pod\x00IT2\x00",
    ]
    assert [k for k, _ in db.range("cc", "a", "z")] == ["a", "b"]
    assert [k for k, _ in db.range("cc", "a", "\u00ff")] == ["a", "b", "z", "é"]
    assert [k for k, _ in db.range("cc", "a", "", limit=2)] == ["a", "b"]


def test_statedb_range_pages_through_many_keys(db: StateDB) -> None:
    b = UpdateBatch()
    for i in range(450):
        b.put("cc", f"k{i:04d}", b"v", (1, i))
    _commit(db, b, 1)
    got = [k for k, _ in db.range("cc", "k", "l", chunk=100)]
    assert got == [f"k{i:04d}" for i in range(450)]


def test_statedb_metadata_kept_by_writes_cleared_by_delete(db: StateDB) -> None:
    md = encode_metadata({"VALIDATION_PARAMETER": b"p"})
    b = UpdateBatch()
    b.put("cc", "k", b"1", (1, 0))
    b.put_metadata("cc", "k", md, (1, 1))
    _commit(db, b, 1)
    assert decode_metadata(db.get("cc", "k").metadata) == {"VALIDATION_PARAMETER": b"p"}  # type: ignore[union-attr]
    assert db.get_version("cc", "k") == (1, 1)
    b = UpdateBatch()
    b.put("cc", "k", b"2", (2, 0))
    _commit(db, b, 2)
    vv = db.get("cc", "k")
    assert vv is not None and vv.value == b"2" and vv.metadata == md
    b = UpdateBatch()
    b.put("cc", "k", None, (3, 0))
    b.put("cc", "k", b"3", (3, 1))
    _commit(db, b, 3)
    assert db.get("cc", "k").metadata is None  # type: ignore[union-attr]


def test_statedb_metadata_write_on_absent_key_is_ignored(db: StateDB) -> None:
    b = UpdateBatch()
    b.put_metadata("cc", "ghost", encode_metadata({"a": b"b"}), (1, 0))
    _commit(db, b, 1)
    assert db.get("cc", "ghost") is None


def test_statedb_touches_range(db: StateDB) -> None:
    b = UpdateBatch()
    b.put("cc", "k5", b"", (1, 0))
    assert b.touches_range("cc", "k0", "k9")
    assert not b.touches_range("cc", "k0", "k5")
    assert b.touches_range("cc", "k0", "k5", inclusive_end=True)
    assert not b.touches_range("other", "k0", "k9")
    assert b.touches_range("cc", "k", "")


def test_statedb_private_and_hashed_state(db: StateDB) -> None:
    b = UpdateBatch()
    b.put_hashed("cc", "c", b"kh", b"vh", (1, 0))
    b.put_private("cc", "c", "key", b"value", (1, 0))
    _commit(db, b, 1)
    assert db.get_hashed("cc", "c", b"kh").value == b"vh"  # type: ignore[union-attr]
    assert db.get_private("cc", "c", "key").value == b"value"  # type: ignore[union-attr]
    assert [k for k, _ in db.private_range("cc", "c", "", "")] == ["key"]
    db.clear()
    assert db.savepoint() == -1 and db.get_private("cc", "c", "key") is None


def test_statedb_get_many_loads_present_and_absent_keys(db: StateDB) -> None:
    b = UpdateBatch()
    for i in range(900):
        b.put("cc" if i % 2 else "other", f"k{i}", b"%d" % i, (1, i))
    _commit(db, b, 1)
    keys = [("cc", "k1"), ("other", "k2"), ("cc", "k2"), ("cc", "missing")] + [
        ("cc", f"k{i}") for i in range(1, 900, 2)
    ]
    got = db.get_many(keys, chunk=100)
    assert got[("cc", "k1")].value == b"1"  # type: ignore[union-attr]
    assert got[("other", "k2")].version == (1, 2)  # type: ignore[union-attr]
    assert got[("cc", "k2")] is None and got[("cc", "missing")] is None
    assert sum(v is not None for v in got.values()) == 451


def _put_definition(b: UpdateBatch, version: str, sequence: int, at: tuple[int, int]) -> None:
    """A committed definition, under Fabric's `_lifecycle` keys (metadata and one per field)."""
    from network.embedded.lifecycle import serializer as ser
    from network.embedded.lifecycle.definition import NAMESPACE, NAMESPACES, ChaincodeDefinition

    structure = ChaincodeDefinition("smoke", version, sequence, None).structure()
    b.put(NAMESPACE, ser.metadata_key(NAMESPACES, "smoke"), ser.encode_metadata(structure), at)
    for field, value in structure.fields:
        b.put(NAMESPACE, ser.field_key(NAMESPACES, "smoke", field), ser.encode_field(value), at)


def test_chaincode_definitions_follow_every_commit(db: StateDB) -> None:
    from network.embedded.lifecycle.definition import NAMESPACE, definitions_from_state

    lookup = definitions_from_state(db)
    assert lookup("smoke") is None
    b = UpdateBatch()
    _put_definition(b, "1.0", 1, (1, 0))
    _commit(db, b, 1)
    first = lookup("smoke")
    assert first is not None and (first.version, first.sequence) == ("1.0", 1)
    assert lookup("smoke") is first  # nothing committed since: the same answer
    b = UpdateBatch()
    b.put("other", "k", b"v", (2, 0))
    _commit(db, b, 2)
    assert lookup("smoke") is first  # a commit elsewhere: re-read, same record, same object
    b = UpdateBatch()
    _put_definition(b, "2.0", 2, (3, 0))
    _commit(db, b, 3)
    upgraded = lookup("smoke")
    assert upgraded is not None and (upgraded.version, upgraded.sequence) == ("2.0", 2)
    b = UpdateBatch()
    b.put(NAMESPACE, "namespaces/metadata/smoke", None, (4, 0))
    _commit(db, b, 4)
    assert lookup("smoke") is None


# Printed by Fabric v3.1.5's own deterministicBytesForPubAndHashUpdates (core/ledger/kvledger/
# txmgmt/txmgr) for this very batch: public and hashed writes, a delete, the channel config
# under "" (left out), and a height with multi-byte block and tx numbers.
FABRIC_UPDATE_BYTES = (
    "0a190a036e73311a046b6579312a0676616c7565313204010101010a141a046b6579322a0676616c75653232"
    "04010101020a1b1205636f6c6c311a046b6579332a0676616c7565333204010101030a141a046b6579342a06"
    "76616c7565343204010101040a1b1205636f6c6c321a046b6579352a0676616c7565353204010101050a0e1a"
    "046b65793620013204010101060a190a036e73321a046b6579372a0676616c7565373204010101070a230a03"
    "6e73331205636f6c6c311a046b6579382a0676616c756538320702012c03011170"
)


def test_update_bytes_are_fabrics_commit_hash_encoding() -> None:
    b = UpdateBatch()
    b.put("ns1", "key1", b"value1", (1, 1))
    b.put("ns1", "key2", b"value2", (1, 2))
    b.put_hashed("ns1", "coll1", b"key3", b"value3", (1, 3))
    b.put_hashed("ns1", "coll1", b"key4", b"value4", (1, 4))
    b.put_hashed("ns1", "coll2", b"key5", b"value5", (1, 5))
    b.put_hashed("ns1", "coll2", b"key6", None, (1, 6))
    b.put("ns2", "key7", b"value7", (1, 7))
    b.put("", "CHANNEL_CONFIG_ENV_BYTES", b"cfg", (0, 0))
    b.put_hashed("ns3", "coll1", b"key8", b"value8", (300, 70000))
    assert b.fabric_update_bytes().hex() == FABRIC_UPDATE_BYTES
