"""The connector's database: one async engine, its sessions, and the migrations run at start.

SQLite (a file under the connector's folder, no set-up) by default, PostgreSQL by URL. Both
are reached through SQLAlchemy's async engine: aiosqlite for SQLite, psycopg 3 for PostgreSQL.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def async_url(url: str) -> str:
    """The same database through the async driver SQLAlchemy needs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"database URL {parsed!r}: only SQLite and PostgreSQL are supported")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while the operation runner writes; NORMAL syncs at checkpoints, which
    # in WAL mode still never corrupts the file and loses at most the last commits on power loss
    # (not on a process crash, which is what the connector must survive).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # checkpoints copy the log into the database file, in whichever commit crosses the
    # threshold: a larger one makes that stall rarer (the log is checkpointed at close too)
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


class Database:
    """Engines and session factories; `migrate()` brings the schema to the latest revision.

    `session()` is for writes, `reading()` for reads. On PostgreSQL both share one pool. On
    SQLite, which lets one writer in at a time and makes the others sleep and retry, every write
    goes through one connection, taken in turn without sleeping, while reads use a pool of
    their own (WAL readers never wait for the writer). A write session must therefore never be
    held across a call to the ledger or the network.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                async_url(url), pool_size=1, max_overflow=0, pool_timeout=120
            )
            self.read_engine = create_async_engine(async_url(url), pool_size=8, max_overflow=8)
            for engine in (self.engine, self.read_engine):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_async_engine(
                async_url(url), pool_size=20, max_overflow=20, pool_pre_ping=True
            )
            self.read_engine = self.engine
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.readers = async_sessionmaker(self.read_engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A session that writes (SQLite: the one writer connection, in turn)."""
        return self.sessions()

    def reading(self) -> AsyncSession:
        """A session that only reads."""
        return self.readers()

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
