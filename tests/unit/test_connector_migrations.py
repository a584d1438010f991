"""The connector's migrations build exactly the tables its declarations describe, and unwind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from connector.store.database import MIGRATIONS, Database
from connector.store.tables import Base


def test_connector_migrations_match_the_declared_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'connector.db'}"
    db = Database(url)
    asyncio.run(db.migrate())
    asyncio.run(db.close())
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_connector_market_migration_adds_and_removes_its_parts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'connector.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    tables = inspect(engine).get_table_names()
    assert "series_files" in tables
    assert "transient" in {c["name"] for c in inspect(engine).get_columns("operations")}
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    engine.dispose()
    engine = create_engine(url)
    assert "series_files" not in inspect(engine).get_table_names()
    assert "transient" not in {c["name"] for c in inspect(engine).get_columns("operations")}
    engine.dispose()
