"""The operation runner: drives each accepted operation to committed or failed, exactly once.

Operations on one resource (its lane: a POD with its devices and attachments, a UVAM with its
members and connection) run in the order they were accepted, each after the previous one is
final; lanes run side by side, up to `submit_concurrency` at a time.

One attempt is one transaction id, fixed before it is first sent. The rules that make every
accepted operation end committed or failed, and none committed twice:

- an operation marked `submitted` may already be on the ledger: before sending it again the
  runner asks the ledger for that id, and a transaction found there decides the outcome;
- an attempt invalidated by a conflicting write (MVCC) is burnt: the next attempt gets a new id;
- an unreachable or slow ledger is retried with back-off until the operation's deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from connector import webhooks
from connector.ledger import (
    Committed,
    Ledger,
    LedgerError,
    LedgerInvalid,
    LedgerRefused,
    LedgerTimeout,
    LedgerUnavailable,
)
from connector.schemas.common import OperationStatus
from connector.store import operations, resources
from connector.store.database import Database
from connector.store.tables import Operation, as_utc, now

log = logging.getLogger(__name__)

Completed = Callable[[Operation], Awaitable[None]]

_FIRST_WAIT, _MAX_WAIT = 0.5, 30.0
_MAX_ATTEMPTS = 5  # transactions per operation lost to conflicting writes before giving up


class Runner:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        concurrency: int,
        on_final: Completed,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, deque[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._final: dict[str, asyncio.Event] = {}
        self._on_final = on_final
        self._stopping = False
        # why an operation still waits, when the ledger could not be reached or answered late
        self.held_up: dict[str, LedgerError] = {}

    # -- queueing ---------------------------------------------------------------------------

    def enqueue(self, op_id: str, lane: str) -> None:
        queue = self._lanes.get(lane)
        if queue is not None:
            queue.append(op_id)
            return
        self._lanes[lane] = deque([op_id])
        task = asyncio.create_task(self._drain(lane), name=f"lane {lane}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def recover(self) -> int:
        """Queue every operation a previous run left unfinished, in acceptance order."""
        async with self._db.session() as session:
            left = await operations.unfinished(session)
        for op in left:
            self.enqueue(op.id, op.lane)
        return len(left)

    @property
    def in_flight(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    async def wait(self, op_id: str, timeout: float) -> None:
        """Return when the operation is final, or after `timeout` seconds."""
        event = self._final.setdefault(op_id, asyncio.Event())
        op = await self._load(op_id)  # after registering: a finish in between still wakes us
        if op is None or op.status in operations.FINAL:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                op_id = queue[0]
                async with self._slots:
                    await self._drive(op_id)
                queue.popleft()
        finally:
            if not queue or self._stopping:
                self._lanes.pop(lane, None)

    # -- one operation ----------------------------------------------------------------------

    async def _load(self, op_id: str) -> Operation | None:
        async with self._db.session() as session:
            return await operations.get(session, op_id)

    async def _save(self, op: Operation, **changes: Any) -> None:
        async with self._db.session() as session:
            stored = await operations.get(session, op.id)
            if stored is None:
                return
            operations.touch(stored, **changes)
            await session.commit()
        operations.touch(op, **changes)

    async def _drive(self, op_id: str) -> None:
        op = await self._load(op_id)
        wait = _FIRST_WAIT
        while op is not None and op.status not in operations.FINAL:
            try:
                if op.status == OperationStatus.submitted and await self._settled_by_ledger(op):
                    return
                endorsed = await self._ledger.endorse(op.fabric_user, op.proposal)
                await self._save(
                    op, status=OperationStatus.submitted.value, result=_record(endorsed.result)
                )
                committed = await self._ledger.submit(endorsed)
                await self._commit(op, committed.block_number, committed)
                return
            except LedgerRefused as refused:
                await self._fail(op, refused.status, refused.code, refused.message)
                return
            except LedgerInvalid as invalid:
                if invalid.retryable:
                    await self._next_attempt(op, invalid.code)
                    continue
                if invalid.code == "DUPLICATE_TXID":
                    continue  # the same id is on the ledger already: the top of the loop asks
                await self._fail(op, 409, invalid.code, str(invalid))
                return
            except asyncio.CancelledError:
                raise
            except LedgerError as exc:
                if not await self._may_retry(op, exc):
                    return
            except Exception:  # a bug must not stall the lane; the operation stays retryable
                log.exception("operation %s: unexpected error; retrying", op.id)
            await asyncio.sleep(wait)
            wait = min(wait * 2, _MAX_WAIT)

    async def _settled_by_ledger(self, op: Operation) -> bool:
        """Whether the ledger already decided this attempt (then the operation is final)."""
        record = await self._ledger.find_transaction(op.fabric_user, op.channel, op.tx_id)
        if record is None:
            return False
        if record.valid:
            await self._commit(op, int(record.block_number or 0), None)
            return True
        code = record.validation or "INVALID"
        if code in ("MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"):
            await self._next_attempt(op, code)
            return False
        await self._fail(op, 409, code, f"transaction {op.tx_id} was invalidated: {code}")
        return True

    async def _next_attempt(self, op: Operation, why: str) -> None:
        if op.attempt >= _MAX_ATTEMPTS:
            await self._fail(
                op, 409, why, f"{op.attempt} attempts were each invalidated by a concurrent write"
            )
            return
        context = await self._ledger.new_context(op.fabric_user)
        prepared = await self._ledger.prepare(
            op.fabric_user, op.channel, op.function, list(op.args), context
        )
        log.info(
            "operation %s: attempt %d lost to %s; trying again as %s",
            op.id,
            op.attempt,
            why,
            prepared.tx_id,
        )
        await self._save(
            op,
            status=OperationStatus.accepted.value,
            attempt=op.attempt + 1,
            tx_id=prepared.tx_id,
            tx_ids=[*op.tx_ids, prepared.tx_id],
            proposal=prepared.proposal,
        )

    async def _may_retry(self, op: Operation, exc: LedgerError) -> bool:
        self.held_up[op.id] = exc
        if datetime.now(UTC) < as_utc(op.retry_until):
            log.info("operation %s: %s; will retry", op.id, exc)
            return True
        status, code = (
            (504, "LedgerTimeout")
            if isinstance(exc, LedgerTimeout)
            else (
                (503, "LedgerUnavailable")
                if isinstance(exc, LedgerUnavailable)
                else (502, "LedgerError")
            )
        )
        await self._fail(op, status, code, f"gave up after retrying until {op.retry_until}: {exc}")
        return False

    # -- outcomes ---------------------------------------------------------------------------

    async def _commit(self, op: Operation, block: int, committed: Committed | None) -> None:
        result = _record(committed.result) if committed is not None else None
        async with self._db.session() as session:
            done = await self.mark_committed(session, op.id, block, result)
            await session.commit()
        if done is not None:
            operations.touch(op, status=done.status)
            await self.announce(done)

    async def mark_committed(
        self, session: Any, op_id: str, block: int, result: dict[str, Any] | None
    ) -> Operation | None:
        """In the caller's transaction: the operation committed in `block` (None if it was
        final already). The mirror takes its result; a webhook delivery is queued."""
        values: dict[str, Any] = {
            "status": OperationStatus.committed.value,
            "block_number": block,
            "validation_code": "VALID",
        }
        if result is not None:
            values["result"] = result
        stored = await operations.finalize(session, op_id, values)
        if stored is None:
            return None
        if stored.result is not None:
            await resources.upsert(session, stored.channel, stored.result, block)
        await webhooks.enqueue(session, "operation.completed", operations.out(stored).model_dump())
        return stored

    async def _fail(self, op: Operation, status: int, code: str, message: str) -> None:
        values = {
            "status": OperationStatus.failed.value,
            "error_status": status,
            "error_code": code,
            "error_message": message,
        }
        async with self._db.session() as session:
            stored = await operations.finalize(session, op.id, values)
            if stored is None:
                return
            await webhooks.enqueue(
                session, "operation.completed", operations.out(stored).model_dump()
            )
            await session.commit()
        operations.touch(op, status=stored.status)
        await self.announce(stored)

    async def announce(self, op: Operation) -> None:
        """After the outcome is stored: wake whoever waits on it, tell the live streams."""
        self.held_up.pop(op.id, None)
        waiting = self._final.pop(op.id, None)
        if waiting is not None:
            waiting.set()
        await self._on_final(op)


def _record(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def deadline(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)
