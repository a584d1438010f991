"""What the market's routes share: who may call them, their headers, and the mirror's lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query
from sqlalchemy.ext.asyncio import AsyncSession

from connector.deps import Principal, requires
from connector.errors import InvalidInput
from connector.org import OrgContext
from connector.permissions import Action
from connector.routes.views import resource_out, scope
from connector.schemas.common import Page, ResourceOut
from connector.store import resources

Bidder = Annotated[Principal, Depends(requires(Action.bid))]
Dispatcher = Annotated[Principal, Depends(requires(Action.dispatch))]
Meterer = Annotated[Principal, Depends(requires(Action.meter))]
Prefer = Annotated[str | None, Header(description="respond-async (default) or wait=N seconds")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
Channel = Annotated[str | None, Query(max_length=64, description="when not the only one")]
Period = Annotated[str | None, Query(max_length=128, description="a market period's id")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=64)]


async def listed(
    session: AsyncSession,
    org: OrgContext,
    kind: str,
    *,
    channel: str | None,
    period: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
    search: str | None = None,
) -> Page[ResourceOut]:
    """The mirror's records of `kind` this organisation may see, newest first."""
    filters = resources.Filters(
        kind=kind,
        channel=channel,
        status=status,
        parent_id=period,
        search=search,
        **scope(org, kind),
    )
    try:
        items, total, nxt = await resources.page(session, filters, limit, cursor)
    except resources.CursorError as exc:
        raise InvalidInput(str(exc)) from None
    return Page(items=[resource_out(r) for r in items], total=total, nextCursor=nxt)
