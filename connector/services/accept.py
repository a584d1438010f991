"""Accepting a write: checked, its transaction prepared and stored, queued, answered at once.

The operation row, with its transaction id and proposal, is committed before the reply (and
before the runner sees it), together with an attachment's bytes: nothing is half-written, and
a crash right after the reply loses nothing. Requests that arrive together are stored in one
transaction (a group commit), each still answered only once its row is durable.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connector.bus import Bus
from connector.errors import Conflict
from connector.ledger import Ledger
from connector.runner import Runner, deadline
from connector.schemas.common import OperationStatus
from connector.services.documents import Checked, keep
from connector.store import operations
from connector.store.database import Database
from connector.store.group import GroupWriter
from connector.store.tables import Operation, now

# builds the chaincode arguments once the transaction id is known: -> (args, resource id)
ArgsBuilder = Callable[[str], tuple[list[str], str]]


@dataclass(frozen=True)
class Write:
    """One call of a CBP API service, ready to become an operation."""

    service: str
    function: str
    channel: str
    lane: str
    kind: str
    build: ArgsBuilder
    document: Checked | None = None
    # transient fields of the proposal: private data the chaincode keeps off the block
    transient: dict[str, str] | None = None
    # stores what the write brings besides the operation (a series' bytes), in its transaction
    keep: Callable[[AsyncSession], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Caller:
    """The logged-in user as the services see it."""

    username: str
    access: str
    fabric_user: str


def _shown(op: Operation) -> Callable[[], dict[str, Any]]:
    return lambda: operations.out(op).model_dump(mode="json")


class Acceptor:
    def __init__(
        self, db: Database, ledger: Ledger, runner: Runner, bus: Bus, retry_for: float
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._runner = runner
        self._bus = bus
        self._retry_for = retry_for
        self._stores = GroupWriter(db, _store, after=self._queued_writes)

    async def _operation(
        self, caller: Caller, write: Write, key: str | None, load_id: str | None
    ) -> Operation:
        moment = now()
        context = await self._ledger.new_context(caller.fabric_user)
        args, resource_id = write.build(context.transaction_id)
        prepared = await self._ledger.prepare(
            caller.fabric_user, write.channel, write.function, args, context, write.transient
        )
        return Operation(
            id=uuid.uuid4().hex,
            service=write.service,
            function=write.function,
            channel=write.channel,
            args=args,
            lane=f"{write.channel}/{write.lane}",
            resource_kind=write.kind,
            resource_id=resource_id,
            status=OperationStatus.accepted.value,
            attempt=1,
            tx_id=prepared.tx_id,
            tx_ids=[prepared.tx_id],
            proposal=prepared.proposal,
            fabric_user=caller.fabric_user,
            username=caller.username,
            idempotency_key=key,
            load_id=load_id,
            retry_until=deadline(self._retry_for),
            created_at=moment,
            updated_at=moment,
            transient=write.transient,
        )

    async def accept(self, caller: Caller, write: Write, key: str | None = None) -> Operation:
        if key is not None:
            async with self._db.reading() as session:
                earlier = await operations.by_key(session, caller.username, key)
            if earlier is not None:
                return self._replayed(earlier, write, key)
        op = await self._operation(caller, write, key, None)
        self._runner.endorse_early(op)
        try:
            await self._stores.add((op, write))  # stored and queued, with the others of its burst
        except BaseException as exc:
            self._runner.forget_early(op)
            if not isinstance(exc, IntegrityError) or key is None:
                raise
            # the same key raced in on another request: that request's operation stands
            async with self._db.reading() as session:
                earlier = await operations.by_key(session, caller.username, key)
            if earlier is None:
                raise
            return self._replayed(earlier, write, key)
        return op

    def _replayed(self, earlier: Operation, write: Write, key: str) -> Operation:
        if (earlier.function, earlier.channel) != (write.function, write.channel):
            raise Conflict(
                f"Idempotency-Key {key!r} was used for {earlier.function} "
                f"(operation {earlier.id}); use a new key for a new request",
                code="IdempotencyKeyReused",
            )
        return earlier

    async def accept_many(
        self, caller: Caller, writes: Sequence[Write], load_id: str
    ) -> list[Operation]:
        """Several writes in one transaction (a mass load's rows): all stored, then all queued."""
        ops = [await self._operation(caller, w, None, load_id) for w in writes]
        async with self._db.session() as session:
            await operations.store(session, ops)
            for write in writes:
                await _keep(session, write)
            await session.commit()
        self._queued(ops)
        return ops

    def _queued_writes(self, stored: Sequence[tuple[Operation, Write]]) -> None:
        self._queued([op for op, _ in stored])

    def _queued(self, ops: Sequence[Operation]) -> None:
        for op in ops:
            self._runner.enqueue(op)
            self._bus.publish("operation", _shown(op))


async def _store(session: AsyncSession, items: Sequence[tuple[Operation, Write]]) -> list[None]:
    await operations.store(session, [op for op, _ in items])
    for _, write in items:
        await _keep(session, write)
    return [None] * len(items)


async def _keep(session: AsyncSession, write: Write) -> None:
    if write.document is not None:
        await keep(session, write.document)
    if write.keep is not None:
        await write.keep(session)
