"""Group commit: writes that arrive together share one database transaction.

A block's commits reach the connector together, and the clients waiting on them send their
next requests together. Each write alone costs a transaction (a session, the writer's turn,
BEGIN and COMMIT, a statement per table); fifty in one cost little more than one. Callers
still wait for their own write to be durable before they go on, so nothing a caller was told
is lost; the batch only decides how many share the COMMIT.

A batch takes what is queued when the writer's turn comes, so under no load a write goes alone
at once, and under load the batch grows by itself with no timer to tune.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from connector.store.database import Database

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

# writes `items` in the session (not committed) and returns one outcome per item, in order
Write = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Outcome]]]

_MAX_BATCH = 500


class GroupWriter(Generic[Item, Outcome]):
    """Queues items and writes them in batches, one transaction per batch.

    If a batch fails, its items are written again one by one, so that one bad item (a
    duplicate key) fails alone and the others are not refused for its sake."""

    def __init__(
        self,
        db: Database,
        write: Write[Item, Outcome],
        after: Callable[[Sequence[Item]], None] | None = None,
    ) -> None:
        self._db = db
        self._write = write
        # run once the items are durable, before their callers resume (and even if they gave up)
        self._after = after
        self._queue: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, item: Item) -> Outcome:
        """Write `item` with whatever else is queued; returns its outcome once committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        future.add_done_callback(retrieved)  # a caller that gave up leaves none unseen
        self._queue.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="group commit")
        # shielded: a caller that gives up does not take the others' write with it
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            # one turn of the loop: the callbacks ready now (a block's commit statuses, a
            # burst of requests) queue theirs before the first batch is taken
            await asyncio.sleep(0)
            while self._queue:
                await self._flush()
        finally:
            self._task = None

    async def _flush(self) -> None:
        async with self._db.session() as session:
            # taken once the writer's turn has come: everything queued meanwhile joins
            batch, self._queue = self._queue[:_MAX_BATCH], self._queue[_MAX_BATCH:]
            try:
                outcomes = await self._write(session, [item for item, _ in batch])
                await session.commit()
            except Exception as exc:
                await session.rollback()
                failure: Exception | None = exc
            else:
                failure = None
        if failure is None:
            if self._after is not None:
                self._after([item for item, _ in batch])
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                _settle(future, outcome)
            return
        if len(batch) == 1:
            _fail(batch[0][1], failure)
            return
        for item, future in batch:
            await self._alone(item, future)

    async def _alone(self, item: Item, future: asyncio.Future[Outcome]) -> None:
        try:
            async with self._db.session() as session:
                [outcome] = await self._write(session, [item])
                await session.commit()
        except Exception as exc:
            _fail(future, exc)
            return
        if self._after is not None:
            self._after([item])
        _settle(future, outcome)


def retrieved(future: asyncio.Future[Any]) -> None:
    """A done-callback: an outcome nobody reads (a caller gave up) is not logged as lost."""
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if not future.done():
        future.set_result(outcome)


def _fail(future: asyncio.Future[Any], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
