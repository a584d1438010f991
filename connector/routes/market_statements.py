"""Settlement statements: issued by the TSO per BSP and period; read by that BSP and the TSO
only (their amounts live in the ledger's private collection, which no DSO peer holds)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from connector.deps import ConnectorDep, Reader, SessionDep
from connector.errors import Forbidden, responses
from connector.org import Role
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.market_common import (
    Channel,
    Cursor,
    Dispatcher,
    IdemKey,
    Limit,
    Period,
    Prefer,
    listed,
)
from connector.routes.views import one, resource_out
from connector.schemas import market as s
from connector.schemas.common import OperationOut, Page, ResourceOut

router = APIRouter(prefix="/market/statements", tags=["Market: settlement"])


def _bsp_or_tso(role: Role) -> None:
    if role not in (Role.BSP, Role.TSO):  # a DSO, the auditor
        raise Forbidden("settlement statements are readable by their BSP and the TSO only")


@router.get("", response_model=Page[ResourceOut], responses=responses(401, 403, 422))
async def list_statements(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    period: Period = None,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Statements issued (a BSP's own; the TSO's all), newest first, without their amounts."""
    _bsp_or_tso(connector.org.me.role)
    return await listed(
        session,
        connector.org,
        "statement",
        channel=channel,
        period=period,
        status=None,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/{statement_id}", response_model=s.StatementOut, responses=responses(401, 403, 404, 409)
)
async def get_statement(
    statement_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> s.StatementOut:
    """A statement with its lines and totals, read from the ledger's private collection."""
    _bsp_or_tso(connector.org.me.role)
    found = await one(session, connector.org, "statement", statement_id, channel)
    detail = await connector.ledger.evaluate(
        user.fabric_user, found.channel, "ReadStatement", found.id
    )
    return s.StatementOut(**resource_out(found).model_dump(), statement=detail or {})


@router.post("", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def issue_statement(
    body: s.StatementCreate,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Issue Statement (the TSO): settles every verified activation of the BSP in the period."""
    period = await connector.registry.locate(session, "marketperiod", body.periodId, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.issue_statement(period, body), idempotency_key
    )
    return await answer(connector, op, response, prefer)
