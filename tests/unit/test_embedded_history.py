from __future__ import annotations

from pathlib import Path

from network.embedded.history import HistoryDB
from network.embedded.statedb import StateDB
from network.embedded.validator import HistoryWrite


def test_history_newest_first_with_deletes(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "s.sqlite")
    HistoryDB(db._writer)
    with db.transaction() as conn:
        HistoryDB.add(conn, [HistoryWrite("cc", "k", 1, 0, "t1", b"v1", (10, 1))])
        HistoryDB.add(conn, [HistoryWrite("cc", "k", 2, 4, "t2", None, (11, 2))])
        HistoryDB.add(conn, [HistoryWrite("cc", "k", 3, 1, "t3", b"v3", (12, 3))])
        HistoryDB.add(conn, [HistoryWrite("cc", "other", 3, 2, "t4", b"x", (12, 3))])
    got = HistoryDB.get(db.reader, "cc", "k")
    assert [(h.tx_id, h.value, h.is_delete, h.timestamp) for h in got] == [
        ("t3", b"v3", False, (12, 3)),
        ("t2", b"", True, (11, 2)),
        ("t1", b"v1", False, (10, 1)),
    ]
    assert HistoryDB.get(db.reader, "cc", "none") == []
