"""The connector's database: its sessions, and the migrations run at start.

SQLite (a file under the connector's folder, no set-up) by default, PostgreSQL by URL.

PostgreSQL is reached through SQLAlchemy's async engine (psycopg 3): a network database, where
waiting must not hold up the event loop.

SQLite is a library in this process: a write transaction costs about half a millisecond of
work, while handing each statement to a driver thread (aiosqlite) cost four times that here,
plus the waits of SQLite's one-writer lock. So SQLite sessions run inline on the event loop,
behind the same async interface: writes through one connection, taken in turn (an
`asyncio.Lock`), and reads through another (WAL readers never wait for the writer). A write session must therefore never be held across a call to the ledger or the
network; every write path in the connector opens its session after such calls.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def async_url(url: str) -> str:
    """The PostgreSQL database through the async driver SQLAlchemy needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"database URL {parsed!r}: not a PostgreSQL URL")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while the writer writes; NORMAL syncs at checkpoints, which in WAL
    # mode still never corrupts the file and loses at most the last commits on power loss (not
    # on a process crash, which is what the connector must survive).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # checkpoints copy the log into the database file, in whichever commit crosses the
    # threshold: a larger one makes that stall rarer (the log is checkpointed at close too)
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


class InlineSession:
    """The part of `AsyncSession` the connector uses, over a synchronous SQLite session run
    inline on the event loop; a write session holds the writer's lock while it is open."""

    def __init__(self, session: Session, lock: asyncio.Lock | None) -> None:
        self._session = session
        self._lock = lock

    async def __aenter__(self) -> InlineSession:
        if self._lock is not None:
            await self._lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._session.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.scalar(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.get(*args, **kwargs)

    def add(self, instance: Any) -> None:
        self._session.add(instance)

    def add_all(self, instances: Any) -> None:
        self._session.add_all(instances)

    async def delete(self, instance: Any) -> None:
        self._session.delete(instance)

    async def flush(self) -> None:
        self._session.flush()

    async def commit(self) -> None:
        self._session.commit()

    async def rollback(self) -> None:
        self._session.rollback()

    async def refresh(self, instance: Any) -> None:
        self._session.refresh(instance)

    def get_bind(self) -> Any:
        return self._session.get_bind()


class Database:
    """Sessions and migrations: `session()` to write, `reading()` to read (see the module)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            plain = parsed.set(drivername="sqlite+pysqlite").render_as_string()
            self._writer_engine: Engine = create_engine(plain, poolclass=StaticPool)
            # reads share one connection of their own: everything runs on the loop's thread,
            # one statement at a time, and SQLite reads outside an explicit transaction
            self._reader_engine: Engine = create_engine(plain, poolclass=StaticPool)
            for engine in (self._writer_engine, self._reader_engine):
                event.listen(engine, "connect", _sqlite_pragmas)
            self._writes = sessionmaker(self._writer_engine, expire_on_commit=False)
            self._reads = sessionmaker(self._reader_engine, expire_on_commit=False)
            self._write_lock = asyncio.Lock()
        elif self.dialect == "postgresql":
            self._engine = create_async_engine(
                async_url(url), pool_size=20, max_overflow=20, pool_pre_ping=True
            )
            self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        else:
            raise ValueError(f"database URL {parsed!r}: only SQLite and PostgreSQL are supported")

    def session(self) -> AsyncSession:
        """A session that writes (SQLite: the one writer, in turn)."""
        if self.dialect == "sqlite":
            return cast(AsyncSession, InlineSession(self._writes(), self._write_lock))
        return self._sessions()

    def reading(self) -> AsyncSession:
        """A session that only reads."""
        if self.dialect == "sqlite":
            return cast(AsyncSession, InlineSession(self._reads(), None))
        return self._sessions()

    async def migrate(self) -> None:
        if self.dialect == "sqlite":
            with self._writer_engine.begin() as conn:
                _upgrade(conn)
            return
        async with self._engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def close(self) -> None:
        if self.dialect == "sqlite":
            self._writer_engine.dispose()
            self._reader_engine.dispose()
            return
        await self._engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
