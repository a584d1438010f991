"""The operation runner: drives each accepted operation to committed or failed, exactly once.

Operations on one resource (its lane: a POD with its devices and attachments, a UVAM with its
members and connection) run in the order they were accepted, each after the previous one is
final; lanes run side by side, up to `submit_concurrency` at a time.

One attempt is one transaction id, fixed before it is first sent. The rules that make every
accepted operation end committed or failed, and none committed twice:

- an operation resumed after a restart, or whose submission went unanswered, may already be
  on the ledger: before sending it again the runner asks the ledger for that id, and a
  transaction found there decides the outcome;
- an attempt invalidated by a conflicting write (MVCC) is burnt: the next attempt gets a new id;
- an unreachable or slow ledger is retried with back-off until the operation's deadline.

A committed transaction is recorded by the runner as soon as the ledger reports it, with its
endorsed result filed in the mirror (for a chaincode whose results do not hold every record it
writes, the P2P market's, every record of its endorsed write set), in one short database
transaction shared with the other commits of its block (connector/store/group.py); the event
listener records it instead when the runner could not (a restart, an unanswered status
request).
`submitted` is a state the connector holds in memory: in the store an operation is accepted
until it is final.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector import webhooks
from connector.feeds import feed_of, records_written
from connector.ledger import (
    Ledger,
    LedgerError,
    LedgerInvalid,
    LedgerRefused,
    LedgerTimeout,
    LedgerUnavailable,
)
from connector.schemas.common import OperationOut, OperationStatus
from connector.store import operations, resources
from connector.store.database import Database
from connector.store.group import GroupWriter, retrieved
from connector.store.tables import Operation, as_utc, now
from gateway.ledger import decode_prepared_transaction
from hardening.logs import report_unexpected

log = logging.getLogger(__name__)

Completed = Callable[[Operation], Awaitable[None]]
Committed = tuple[Operation, int, dict[str, Any] | None]  # the operation, its block, its result

_FIRST_WAIT, _MAX_WAIT = 0.5, 30.0
_MAX_ATTEMPTS = 5  # transactions per operation lost to conflicting writes before giving up
_RECENT = 2_000  # finished operations kept in memory for those who wait on them (and the event
# listener, a block or two behind); more would only lengthen every full garbage collection


class Runner:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        concurrency: int,
        on_final: Completed,
        deliveries: webhooks.Deliveries,
    ) -> None:
        self._db = db
        self._deliveries = deliveries
        self._ledger = ledger
        self._feed = feed_of(ledger.chaincode)
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, deque[Operation]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._final: dict[str, asyncio.Event] = {}
        self._finished: dict[str, Operation] = {}  # handed to whoever waited on them
        self._running: set[str] = set()  # queued here and not final yet
        self._recent: dict[str, Operation] = {}  # the last operations finished, oldest first
        self._on_final = on_final
        self._stopping = False
        # why an operation still waits, when the ledger could not be reached or answered late
        self.held_up: dict[str, LedgerError] = {}
        # operations that may be on the ledger already (resumed after a restart)
        self._unsure: set[str] = set()
        self.stage: dict[str, str] = {}  # op id -> "submitted", until final
        self._results: dict[str, dict[str, Any]] = {}  # tx id -> the endorsed record
        self._written: dict[str, list[dict[str, Any]]] = {}  # tx id -> records it writes
        # endorsements started while their operations were being stored (see `endorse_early`)
        self._early: dict[str, asyncio.Task[Any]] = {}
        self._early_limit = concurrency
        # a block's commits arrive together: recorded together, in one transaction
        self._recorder: GroupWriter[Committed, Operation | None] = GroupWriter(
            db, self._record_batch
        )

    # -- queueing ---------------------------------------------------------------------------

    def enqueue(self, op: Operation) -> None:
        """Queue an accepted operation (as stored) behind the others of its lane."""
        self._running.add(op.id)
        queue = self._lanes.get(op.lane)
        if queue is not None:
            queue.append(op)
            return
        self._lanes[op.lane] = deque([op])
        task = asyncio.create_task(self._drain(op.lane), name=f"lane {op.lane}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def endorse_early(self, op: Operation) -> None:
        """Start endorsing a write that is being stored, when nothing runs before it in its
        lane: an endorsement changes nothing on the ledger, so it may run beside the store;
        only the submission must wait until the operation is durable. A request's endorsement
        then overlaps the connector's other work instead of queueing behind it."""
        if op.lane in self._lanes or len(self._early) >= self._early_limit or self._stopping:
            return
        task = asyncio.create_task(
            self._ledger.endorse(op.fabric_user, op.proposal), name=f"endorse {op.id}"
        )
        task.add_done_callback(retrieved)  # read by the drive, unless dropped
        self._early[op.tx_id] = task

    def forget_early(self, op: Operation) -> None:
        """The write was not stored after all (a replayed Idempotency-Key): drop its start."""
        task = self._early.pop(op.tx_id, None)
        if task is not None:
            task.cancel()

    async def _endorsed(self, op: Operation) -> Any:
        early = self._early.pop(op.tx_id, None)
        if early is not None:
            return await early
        return await self._ledger.endorse(op.fabric_user, op.proposal)

    async def recover(self) -> int:
        """Queue every operation a previous run left unfinished, in acceptance order."""
        async with self._db.reading() as session:
            left = await operations.unfinished(session)
        for op in left:
            # a previous run may have sent it even if it says `accepted`: ask the ledger first
            self._unsure.add(op.id)
            self.enqueue(op)
        return len(left)

    @property
    def in_flight(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    async def wait(self, op_id: str, timeout: float) -> Operation | None:
        """The operation once final, or None if it is not after `timeout` seconds."""
        event = self._final.setdefault(op_id, asyncio.Event())
        finished = self._recent.get(op_id)
        if finished is not None:
            return finished
        if op_id not in self._running:  # not this process's to finish: as the store says
            op = await self._load(op_id)
            if op is None or op.status in operations.FINAL:
                return op
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return None
        return self._finished.pop(op_id, None)

    async def stop(self) -> None:
        self._stopping = True
        for early in self._early.values():
            early.cancel()
        self._early.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                async with self._slots:
                    await self._drive(queue[0])
                queue.popleft()
        finally:
            if not queue or self._stopping:
                self._lanes.pop(lane, None)

    # -- one operation ----------------------------------------------------------------------

    async def _load(self, op_id: str) -> Operation | None:
        async with self._db.reading() as session:
            return await operations.get(session, op_id)

    async def _save(self, op: Operation, **changes: Any) -> None:
        async with self._db.session() as session:
            await operations.update_fields(session, op.id, **changes)
            await session.commit()
        operations.touch(op, **changes)

    async def _drive(self, op: Operation) -> None:
        wait = _FIRST_WAIT
        while op.status not in operations.FINAL:
            try:
                if op.id in self._unsure and await self._settled_by_ledger(op):
                    return
                endorsed = await self._endorsed(op)
                result = _record(endorsed.result)
                if result is not None:
                    self._results[op.tx_id] = result
                if self._feed.from_write_sets:
                    self._written[op.tx_id] = self._records_written(endorsed)
                self.stage[op.id] = OperationStatus.submitted.value
                self._unsure.add(op.id)  # from here on it may be on the ledger
                committed = await self._ledger.submit(endorsed)
                await self._commit(op, committed.block_number)
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
            except Exception as exc:  # a bug must not stall the lane; the operation stays retryable
                report_unexpected(log, exc, f"operation {op.id}: unexpected error; retrying")
            await asyncio.sleep(wait)
            wait = min(wait * 2, _MAX_WAIT)

    def _records_written(self, endorsed: Any) -> list[dict[str, Any]]:
        writes = decode_prepared_transaction(endorsed.to_bytes()).writes
        return records_written(writes, self._feed)

    async def _settled_by_ledger(self, op: Operation) -> bool:
        """Whether the ledger already decided this attempt (then the operation is final)."""
        record = await self._ledger.find_transaction(op.fabric_user, op.channel, op.tx_id)
        if record is None:
            return False
        if record.valid:
            await self._commit(op, int(record.block_number or 0))
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
            op.fabric_user, op.channel, op.function, list(op.args), context, op.transient
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

    def present(self, op: Operation) -> OperationOut:
        """The operation as the API shows it, `submitted` included."""
        return operations.out(op, self.stage.get(op.id))

    def result_for(self, tx_id: str, op_id: str | None = None) -> dict[str, Any] | None:
        """The record the transaction's endorsement returned, if this process endorsed it
        (`op_id`: also once its operation finished, while it is among the recent ones)."""
        result = self._results.get(tx_id)
        if result is None and op_id is not None:
            done = self._recent.get(op_id)
            if done is not None and done.tx_id == tx_id:
                result = done.result
        return result

    async def _commit(self, op: Operation, block: int) -> None:
        """VALID in `block`: recorded at once, with its result in the mirror, before anyone
        is told (so a read right after the answer finds it); the event listener, seeing it
        later, finds it final."""
        finished = await self._recorder.add((op, block, self.result_for(op.tx_id)))
        if finished is not None:
            operations.touch(op, status=finished.status)
            await self.announce(finished)

    async def _record_batch(
        self, session: Any, entries: Sequence[Committed]
    ) -> list[Operation | None]:
        done = {op.id: op for op in await self.record_commits(session, list(entries))}
        return [done.get(op.id) for op, _, _ in entries]

    async def record_commits(self, session: Any, entries: list[Committed]) -> list[Operation]:
        """In the caller's transaction: these operations committed, each in its block. The
        mirror takes their results (or every record they wrote, when this process endorsed
        them and their chaincode's results do not hold them all); a webhook delivery is queued
        for each. Returns those this call finished (the others were final already)."""
        done = await operations.commit_many(session, entries)
        by_channel: dict[str, list[tuple[dict[str, Any], int, str | None]]] = {}
        for op in done:
            block = int(op.block_number or 0)
            written = self._written.get(op.tx_id) or ([op.result] if op.result else [])
            by_channel.setdefault(op.channel, []).extend((r, block, op.tx_id) for r in written)
        for channel, records in by_channel.items():
            await resources.upsert_many(session, channel, records, self._feed.file)
        for op in done:
            self._deliveries.enqueue(session, "operation.completed", _completed(op))
        return done

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
            self._deliveries.enqueue(
                session, "operation.completed", lambda: operations.out(stored).model_dump()
            )
            await session.commit()
        operations.touch(op, status=stored.status)
        await self.announce(stored)

    async def announce(self, op: Operation) -> None:
        """After the outcome is stored: wake whoever waits on it, tell the live streams."""
        self.held_up.pop(op.id, None)
        self.stage.pop(op.id, None)
        self._unsure.discard(op.id)
        for tx_id in op.tx_ids or [op.tx_id]:
            self._results.pop(tx_id, None)
            self._written.pop(tx_id, None)
        self._running.discard(op.id)
        self._recent[op.id] = op
        while len(self._recent) > _RECENT:
            self._recent.pop(next(iter(self._recent)))
        waiting = self._final.pop(op.id, None)
        if waiting is not None:
            self._finished[op.id] = op
            waiting.set()
        await self._on_final(op)


def _completed(op: Operation) -> Callable[[], dict[str, Any]]:
    return lambda: operations.out(op).model_dump()


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
