"""Key history: every valid write or delete of a public key, as GetHistoryForKey returns it.

Fabric's history index keeps (ns, key, block, tx) and reads values back from the block; this one
keeps the value beside the entry so a query costs one SQLite range read. Results come newest
first, as Fabric v2+ returns them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .validator import HistoryWrite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
  ns TEXT NOT NULL, key BLOB NOT NULL, block INTEGER NOT NULL, tx INTEGER NOT NULL,
  txid TEXT NOT NULL, value BLOB, is_delete INTEGER NOT NULL, ts_seconds INTEGER NOT NULL,
  ts_nanos INTEGER NOT NULL, PRIMARY KEY (ns, key, block, tx)) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    tx_id: str
    value: bytes
    timestamp: tuple[int, int]  # (seconds, nanos) of the transaction's channel header
    is_delete: bool
    block: int = 0
    tx: int = 0


class HistoryDB:
    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.executescript(_SCHEMA)

    @staticmethod
    def add(conn: sqlite3.Connection, writes: list[HistoryWrite]) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    w.ns,
                    w.key.encode(),
                    w.block,
                    w.tx,
                    w.txid,
                    w.value,
                    1 if w.value is None else 0,
                    w.timestamp[0],
                    w.timestamp[1],
                )
                for w in writes
            ],
        )

    @staticmethod
    def get(conn: sqlite3.Connection, ns: str, key: str) -> list[HistoryEntry]:
        rows = conn.execute(
            "SELECT txid, value, is_delete, ts_seconds, ts_nanos, block, tx FROM history"
            " WHERE ns = ? AND key = ? ORDER BY block DESC, tx DESC",
            (ns, key.encode()),
        ).fetchall()
        return [
            HistoryEntry(txid, value or b"", (s, n), bool(d), b, t)
            for txid, value, d, s, n, b, t in rows
        ]

    @staticmethod
    def clear(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM history")
