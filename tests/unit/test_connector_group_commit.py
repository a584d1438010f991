"""Group commit on a real SQLite file: writes that arrive together share a transaction, each
caller resumes only once its own row is durable, and a bad write fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from connector_store_fixtures import make_db as _db
from connector_store_fixtures import make_operation as _operation
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connector.store import operations
from connector.store.database import Database
from connector.store.group import GroupWriter
from connector.store.tables import Operation


class Recorder:
    """Stores operations, noting the size of each batch it was handed."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def __call__(self, session: AsyncSession, ops: Sequence[Operation]) -> list[str]:
        self.batches.append(len(ops))
        await operations.store(session, ops)
        return [op.id for op in ops]


async def _stored(db: Database) -> list[str]:
    async with db.reading() as session:
        rows = await session.execute(select(Operation.id).order_by(Operation.seq))
        return [str(i) for (i,) in rows.all()]


def test_group_commit_writes_a_burst_in_one_transaction(tmp_path: Path) -> None:
    db = _db(tmp_path)
    write = Recorder()

    async def run() -> list[str]:
        writer = GroupWriter(db, write)
        return await asyncio.gather(*(writer.add(_operation(f"op{i}")) for i in range(50)))

    outcomes = asyncio.run(run())
    assert outcomes == [f"op{i}" for i in range(50)]
    assert write.batches == [50]
    assert asyncio.run(_stored(db)) == [f"op{i}" for i in range(50)]


def test_group_commit_a_lone_write_goes_at_once(tmp_path: Path) -> None:
    db = _db(tmp_path)
    write = Recorder()

    async def run() -> list[str]:
        writer = GroupWriter(db, write)
        return [await writer.add(_operation(f"op{i}")) for i in range(3)]

    assert asyncio.run(run()) == ["op0", "op1", "op2"]
    assert write.batches == [1, 1, 1]


def test_group_commit_a_bad_write_fails_alone(tmp_path: Path) -> None:
    db = _db(tmp_path)
    write = Recorder()

    async def run() -> list[str | BaseException]:
        writer = GroupWriter(db, write)
        await writer.add(_operation("taken"))
        ops = [_operation("a"), _operation("taken"), _operation("b")]
        return await asyncio.gather(*(writer.add(op) for op in ops), return_exceptions=True)

    first, second, third = asyncio.run(run())
    assert first == "a" and third == "b"
    assert isinstance(second, IntegrityError)
    assert asyncio.run(_stored(db)) == ["taken", "a", "b"]


def test_group_commit_runs_after_before_callers_resume(tmp_path: Path) -> None:
    db = _db(tmp_path)
    seen: list[list[str]] = []

    def after(ops: Sequence[Operation]) -> None:
        seen.append([op.id for op in ops])

    async def run() -> list[list[str]]:
        writer = GroupWriter(db, Recorder(), after=after)
        await asyncio.gather(writer.add(_operation("a")), writer.add(_operation("b")))
        return list(seen)

    assert asyncio.run(run()) == [["a", "b"]]


def test_group_commit_a_caller_that_gives_up_still_has_its_write(tmp_path: Path) -> None:
    db = _db(tmp_path)

    async def run() -> int:
        writer = GroupWriter(db, Recorder())
        impatient = asyncio.create_task(writer.add(_operation("a")))
        patient = asyncio.create_task(writer.add(_operation("b")))
        await asyncio.sleep(0)
        impatient.cancel()
        await patient
        with pytest.raises(asyncio.CancelledError):
            await impatient
        async with db.reading() as session:
            return int((await session.execute(select(func.count(Operation.seq)))).scalar_one())

    assert asyncio.run(run()) == 2
