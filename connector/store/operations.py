"""Operations in the store: created when accepted, moved on by the runner, read by everyone."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connector.schemas.common import ErrorBody, OperationOut, OperationStatus
from connector.store.tables import Operation, as_utc, now

FINAL = (OperationStatus.committed.value, OperationStatus.failed.value)


async def get(session: AsyncSession, op_id: str) -> Operation | None:
    return (
        await session.execute(select(Operation).where(Operation.id == op_id))
    ).scalar_one_or_none()


async def by_key(session: AsyncSession, username: str, key: str) -> Operation | None:
    query = select(Operation).where(
        Operation.username == username, Operation.idempotency_key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def by_tx(session: AsyncSession, tx_id: str) -> Operation | None:
    """The operation whose current attempt is `tx_id`."""
    return (
        await session.execute(select(Operation).where(Operation.tx_id == tx_id))
    ).scalar_one_or_none()


async def by_txs(session: AsyncSession, tx_ids: list[str]) -> Sequence[Operation]:
    """The operations whose current attempts are among `tx_ids`."""
    return (
        (await session.execute(select(Operation).where(Operation.tx_id.in_(tx_ids))))
        .scalars()
        .all()
    )


async def unfinished(session: AsyncSession) -> Sequence[Operation]:
    """Every operation not yet committed or failed, in the order it was accepted."""
    query = select(Operation).where(Operation.status.not_in(FINAL)).order_by(Operation.seq)
    return (await session.execute(query)).scalars().all()


async def pending_for(session: AsyncSession, resource_id: str) -> Sequence[Operation]:
    query = (
        select(Operation)
        .where(Operation.resource_id == resource_id, Operation.status.not_in(FINAL))
        .order_by(Operation.seq)
    )
    return (await session.execute(query)).scalars().all()


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"o{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o"):
            raise ValueError
        return int(text[1:])
    except ValueError:
        raise ValueError(f"cursor {cursor[:40]!r} was not handed out by this connector") from None


async def page(
    session: AsyncSession,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    username: str | None = None,
    load_id: str | None = None,
) -> tuple[Sequence[Operation], int, str | None]:
    where = []
    if status is not None:
        where.append(Operation.status == status)
    if username is not None:
        where.append(Operation.username == username)
    if load_id is not None:
        where.append(Operation.load_id == load_id)
    query = select(Operation).where(*where).order_by(Operation.seq.desc())
    if cursor:
        query = query.where(Operation.seq < decode_cursor(cursor))
    items = (await session.execute(query.limit(limit + 1))).scalars().all()
    total = (await session.execute(select(func.count(Operation.seq)).where(*where))).scalar_one()
    more = len(items) > limit
    items = items[:limit]
    return items, int(total), _cursor(items[-1].seq) if more and items else None


async def counts(session: AsyncSession, load_id: str | None = None) -> dict[str, int]:
    query = select(Operation.status, func.count(Operation.seq))
    if load_id is not None:
        query = query.where(Operation.load_id == load_id)
    rows = (await session.execute(query.group_by(Operation.status))).all()
    return {str(s): int(n) for s, n in rows}


async def finalize(session: AsyncSession, op_id: str, values: dict[str, Any]) -> Operation | None:
    """Make the operation final with `values`, unless it already is: one conditional UPDATE,
    so that the runner and the event listener, racing on the same commit, finish it once.
    Returns the operation as stored, or None if it was final already."""
    table = cast(Table, Operation.__table__)
    changed = await session.execute(
        update(table)
        .where(table.c.id == op_id, table.c.status.not_in(FINAL))
        .values(**values, updated_at=now())
        .returning(*table.c)
    )
    row = changed.first()
    # a plain object, not attached to the session: Core is far cheaper than the unit of work
    return None if row is None else Operation(**row._mapping)


async def commit_many(
    session: AsyncSession, entries: Sequence[tuple[Operation, int, dict[str, Any] | None]]
) -> list[Operation]:
    """Operations committed, each in its block with its result, in two statements: one
    guarded UPDATE that makes them final (those final already are left alone, so a race with
    another recorder finishes each once) and one for the results. Returns the operations this
    call finished, as now stored."""
    if not entries:
        return []
    table = cast(Table, Operation.__table__)
    by_id = {op.id: (op, block, result) for op, block, result in entries}
    moment = now()
    flipped = await session.execute(
        update(table)
        .where(table.c.id.in_(list(by_id)), table.c.status.not_in(FINAL))
        .values(
            status="committed",
            validation_code="VALID",
            updated_at=moment,
            block_number=case({i: b for i, (_, b, _) in by_id.items()}, value=table.c.id),
        )
        .returning(table.c.id)
    )
    mine = [str(i) for (i,) in flipped.all()]
    results = [{"rid": i, "result": by_id[i][2]} for i in mine if by_id[i][2] is not None]
    if results:
        await session.execute(
            update(table).where(table.c.id == bindparam("rid")).values(result=bindparam("result")),
            results,
        )
    done = []
    for i in mine:
        op, block, result = by_id[i]
        done.append(
            Operation(
                **{
                    **columns(op),
                    "status": "committed",
                    "validation_code": "VALID",
                    "block_number": block,
                    "result": result if result is not None else op.result,
                    "updated_at": moment,
                }
            )
        )
    return done


def columns(op: Operation) -> dict[str, Any]:
    """The operation's stored columns, for a Core INSERT."""
    return {c.key: getattr(op, c.key) for c in Operation.__table__.c if c.key != "seq"}


async def store(session: AsyncSession, ops: Sequence[Operation]) -> None:
    """Store accepted operations (one INSERT)."""
    await session.execute(insert(cast(Table, Operation.__table__)), [columns(op) for op in ops])


async def update_fields(session: AsyncSession, op_id: str, **values: Any) -> None:
    """Change some fields of a stored operation (one UPDATE, no load)."""
    await session.execute(
        update(Operation)
        .where(Operation.id == op_id)
        .values(**values, updated_at=now())
        .execution_options(synchronize_session=False)
    )


def touch(op: Operation, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(op, name, value)
    op.updated_at = now()


def error_of(op: Operation) -> ErrorBody | None:
    if op.error_status is None:
        return None
    return ErrorBody(
        status=op.error_status,
        code=op.error_code or "Error",
        message=op.error_message or "",
        operationId=op.id,
    )


# where the API shows what a committed operation made or changed
_RESOURCE_PATHS = {
    "pod": "/pods/{}",
    "uvam": "/uvams/{}",
    "ev": "/p2p/evs/{}",
    "trade": "/p2p/trades/{}",
    "batch": "/p2p/batches/{}",
    "marketparams": "/p2p/parameters",
}


def out(op: Operation, stage: str | None = None) -> OperationOut:
    """The operation as the API shows it; `stage` is what the runner knows beyond the store
    (`submitted`, held in memory)."""
    links = {"self": f"/operations/{op.id}"}
    if op.status == OperationStatus.committed:
        path = _RESOURCE_PATHS.get(op.resource_kind)
        if path is not None:
            links["resource"] = path.format(op.resource_id)
    return OperationOut(
        id=op.id,
        service=op.service,
        function=op.function,
        channel=op.channel,
        status=OperationStatus(
            stage if stage is not None and op.status not in FINAL else op.status
        ),
        resourceKind=op.resource_kind,
        resourceId=op.resource_id,
        transactionId=op.tx_id,
        attempts=op.attempt,
        attemptTransactionIds=list(op.tx_ids or [op.tx_id]),
        blockNumber=op.block_number,
        validationCode=op.validation_code,
        result=op.result,
        error=error_of(op),
        createdAt=as_utc(op.created_at),
        updatedAt=as_utc(op.updated_at),
        links=links,
    )
