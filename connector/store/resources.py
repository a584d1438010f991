"""The ledger mirror: chaincode records by (channel, kind, id), with the columns lists filter on.

How a record is filed (its kind, id and filter columns) is its chaincode's business: `row_of`
files the registry's records; the P2P market's are filed by `connector.feeds.trading_row`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from connector.store.tables import Resource, now

# docType of a ledger record -> the mirror's kind and the field that holds its id
_KINDS: dict[str, tuple[str, str]] = {
    "pod": ("pod", "meteringPointId"),
    "device": ("device", "resourceId"),
    "attachment": ("attachment", "attachmentId"),
    "uvam": ("uvam", "resourceGroupId"),
    "relation": ("relation", "relationId"),
    "connection": ("connection", "resourceGroupId"),
    "participant": ("participant", "mspId"),
    "marketperiod": ("marketperiod", "periodId"),
    "offer": ("offer", "offerId"),
    "activation": ("activation", "activationId"),
    "series": ("series", "seriesId"),
    "statement": ("statement", "statementId"),
}
_MARKET = ("offer", "activation", "series", "statement")


@dataclass(frozen=True)
class Row:
    """The filterable columns of a record, derived from it (never stored apart from it)."""

    kind: str
    id: str
    owner_eic: str | None
    dso_eic: str | None
    parent_id: str | None
    status: str | None
    name: str | None


Filing = Callable[[dict[str, Any]], Row | None]


def row_of(record: dict[str, Any]) -> Row | None:
    """How the mirror files a registry record; None for a record it does not know."""
    known = _KINDS.get(str(record.get("docType")))
    if known is None:
        return None
    kind, id_field = known
    parent = {
        "device": record.get("parentResourceId"),
        "attachment": record.get("targetId"),
        "relation": record.get("resourceGroupId"),
        "connection": record.get("resourceGroupId"),
    }.get(kind)
    if kind in _MARKET:  # the market's records are listed by period
        parent = record.get("periodId")
    status = record.get("status")
    if kind == "attachment":
        status = "Linked"
    elif kind == "connection":
        status = "Registered"
    return Row(
        kind=kind,
        id=str(record[id_field]),
        owner_eic=record.get("flexibilityServiceProviderId") or record.get("eic"),
        dso_eic=record.get("distributionGridOperatorName"),
        parent_id=parent,
        status=status,
        name=record.get("resourceName")
        or record.get("name")
        or record.get("externalDocumentId")
        or record.get("resource"),
    )


def _values(
    channel: str, record: dict[str, Any], block_number: int, tx_id: str | None, file: Filing
) -> dict[str, Any] | None:
    row = file(record)
    if row is None:
        return None
    return {
        "channel": channel,
        "kind": row.kind,
        "id": row.id,
        "owner_eic": row.owner_eic,
        "dso_eic": row.dso_eic,
        "parent_id": row.parent_id,
        "status": row.status,
        "name": row.name,
        "data": record,
        # the registry's records name their last transaction; the P2P market's do not (an EV
        # changes with each trade that holds its energy): the transaction that wrote it does
        "last_tx_id": record.get("lastTxId") or tx_id,
        "block_number": block_number,
        "updated_at": now(),
    }


async def upsert(
    session: AsyncSession,
    channel: str,
    record: dict[str, Any],
    block_number: int,
    file: Filing = row_of,
) -> None:
    """Store the record as committed in `block_number` (or later); see `upsert_many`."""
    await upsert_many(session, channel, [(record, block_number, None)], file)


async def upsert_many(
    session: AsyncSession,
    channel: str,
    records: Sequence[tuple[dict[str, Any], int, str | None]],
    file: Filing = row_of,
) -> None:
    """Store records, each as committed in its block (or later), filed by `file` (their
    chaincode's filing): one INSERT ... ON CONFLICT statement for all. A copy from an older
    block never replaces a newer one, whichever of the event listener and the operation runner
    arrives first."""
    rows = [
        v
        for record, block, tx_id in records
        if (v := _values(channel, record, block, tx_id, file)) is not None
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Resource)
    fresh = {k: statement.excluded[k] for k in rows[0] if k not in ("channel", "kind", "id")}
    statement = statement.on_conflict_do_update(
        index_elements=["channel", "kind", "id"],
        set_=fresh,
        where=Resource.block_number <= statement.excluded.block_number,
    )
    # rows of one entity in one batch must go in order: executemany keeps it
    await session.execute(statement, rows)


@dataclass(frozen=True)
class Filters:
    kind: str
    channel: str | None = None
    status: str | None = None
    owner_eic: str | None = None
    dso_eic: str | None = None
    parent_id: str | None = None
    search: str | None = None


def _filtered(query: Select[Any], f: Filters) -> Select[Any]:
    query = query.where(Resource.kind == f.kind)
    for column, value in (
        (Resource.channel, f.channel),
        (Resource.status, f.status),
        (Resource.owner_eic, f.owner_eic),
        (Resource.dso_eic, f.dso_eic),
        (Resource.parent_id, f.parent_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.search:
        pattern = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Resource.id.ilike(pattern, escape="\\"), Resource.name.ilike(pattern, escape="\\"))
        )
    return query


class CursorError(ValueError):
    """A cursor this connector did not hand out."""


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"r{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("r"):
            raise ValueError
        return int(text[1:])
    except ValueError:
        raise CursorError(f"cursor {cursor[:40]!r} was not handed out by this connector") from None


async def page(
    session: AsyncSession, f: Filters, limit: int, cursor: str | None
) -> tuple[Sequence[Resource], int, str | None]:
    """Newest first; the cursor is the position after the last item of the previous page."""
    query = _filtered(select(Resource), f).order_by(Resource.seq.desc())
    if cursor:
        query = query.where(Resource.seq < decode_cursor(cursor))
    items = (await session.execute(query.limit(limit + 1))).scalars().all()
    total = (await session.execute(_filtered(select(func.count(Resource.seq)), f))).scalar_one()
    more = len(items) > limit
    items = items[:limit]
    return items, int(total), encode_cursor(items[-1].seq) if more and items else None


async def get(
    session: AsyncSession, kind: str, resource_id: str, channel: str | None = None
) -> list[Resource]:
    """Every copy of the resource (one per channel it is on; usually one)."""
    query = select(Resource).where(Resource.kind == kind, Resource.id == resource_id)
    if channel is not None:
        query = query.where(Resource.channel == channel)
    return list((await session.execute(query)).scalars().all())


async def children(
    session: AsyncSession, kind: str, parent_id: str, channel: str
) -> Sequence[Resource]:
    query = (
        select(Resource)
        .where(Resource.kind == kind, Resource.parent_id == parent_id, Resource.channel == channel)
        .order_by(Resource.seq)
    )
    return (await session.execute(query)).scalars().all()


async def counts_by_status(session: AsyncSession, kind: str, **where: str) -> dict[str, int]:
    query = select(Resource.status, func.count(Resource.seq)).where(Resource.kind == kind)
    for name, value in where.items():
        query = query.where(getattr(Resource, name) == value)
    rows = (await session.execute(query.group_by(Resource.status))).all()
    return {str(status): int(n) for status, n in rows}
