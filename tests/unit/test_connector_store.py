"""The connector's store on a real SQLite file: migrations equal to the declared tables, the
mirror's rule that an older copy never replaces a newer one, and operations finished once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from connector_store_fixtures import make_db as _db
from connector_store_fixtures import make_operation as _operation
from sqlalchemy import create_engine

from connector.store import operations, resources
from connector.store.tables import Base


def test_connector_migrations_build_the_declared_tables(tmp_path: Path) -> None:
    _db(tmp_path)
    with create_engine(f"sqlite:///{tmp_path / 'connector.db'}").connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


POD = {
    "docType": "pod",
    "meteringPointId": "IT002E00112233",
    "flexibilityServiceProviderId": "10XIT-BSP-ALFA-U",
    "distributionGridOperatorName": "10XIT-ARETI----C",
    "resourceName": "Parking",
}


def test_connector_mirror_keeps_the_newest_block(tmp_path: Path) -> None:
    db = _db(tmp_path)

    async def run() -> list[str | None]:
        seen = []
        for status, block in (("Open", 7), ("Registered", 5), ("UnderReview", 9)):
            async with db.session() as session:
                await resources.upsert(session, "bsp1-channel", {**POD, "status": status}, block)
                await session.commit()
            async with db.reading() as session:
                [row] = await resources.get(session, "pod", POD["meteringPointId"])
                seen.append(row.status)
        return seen

    assert asyncio.run(run()) == ["Open", "Open", "UnderReview"]


def test_connector_operation_finished_once_when_two_recorders_race(tmp_path: Path) -> None:
    db = _db(tmp_path)

    async def run() -> tuple[list[int], str | None, int | None]:
        op = _operation("a")
        async with db.session() as session:
            await operations.store(session, [op])
            await session.commit()

        async def record(block: int) -> int:
            async with db.session() as session:
                done = await operations.commit_many(session, [(op, block, {"docType": "pod"})])
                await session.commit()
            return len(done)

        finished = await asyncio.gather(record(4), record(4), record(4))
        async with db.reading() as session:
            stored = await operations.get(session, "a")
        assert stored is not None
        return list(finished), stored.status, stored.block_number

    finished, status, block = asyncio.run(run())
    assert sorted(finished) == [0, 0, 1] and status == "committed" and block == 4
