"""The P2P market's trades and confirmation batches (the seed's pending and confirmed
transactions): an EV user submits a trade as its buyer, Pending; the infrastructure operator
confirms pending trades in batches of up to 500 with the energy delivered, or rejects one with
a reason. Every user of the market's connectors reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import NotFound, responses
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.p2p import (
    LEDGER_READ,
    ON_MARKET,
    READ,
    Channel,
    Cursor,
    IdemKey,
    Limit,
    Prefer,
    paged,
)
from connector.routes.views import one, resource_out
from connector.schemas import trading as t
from connector.schemas.common import BatchDetail, HistoryEntry, OperationOut, Page, ResourceOut
from connector.store import resources

router = APIRouter(prefix="/p2p", tags=["P2P market: trades and batches"], dependencies=ON_MARKET)

Buyer = Annotated[Principal, Depends(requires(Action.trade))]
Settler = Annotated[Principal, Depends(requires(Action.settle))]


@router.get("/trades", response_model=Page[ResourceOut], responses=responses(401, 404, 422))
async def list_trades(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    status: t.TradeStatus | None = None,
    batch: Annotated[str | None, Query(max_length=64, description="a batch's trades")] = None,
    q: Annotated[str | None, Query(max_length=64, description="in the trade's or EVs' ids")] = None,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Trades, newest first: `status=Pending` are the transactions waiting for the operator,
    `status=Confirmed` those it confirmed, each with its batch (`parentId`)."""
    filters = resources.Filters(
        kind="trade",
        channel=channel,
        status=status.value if status else None,
        parent_id=batch,
        search=q,
    )
    return await paged(session, filters, limit, cursor)


@router.get("/trades/{trade_id}", response_model=ResourceOut, responses=READ)
async def get_trade(
    trade_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> ResourceOut:
    """A trade: buyer, seller, agreed and delivered energy, price and cost, its state, and who
    submitted, confirmed or rejected it, when."""
    return resource_out(await one(session, connector.org, "trade", trade_id, channel))


@router.get("/trades/{trade_id}/history", response_model=list[HistoryEntry], responses=LEDGER_READ)
async def trade_history(
    trade_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> list[HistoryEntry]:
    """Every committed version of the trade, oldest first, read from the ledger itself."""
    trade = await one(session, connector.org, "trade", trade_id, channel)
    entries = await connector.ledger.evaluate(
        user.fabric_user, trade.channel, "GetTradeHistory", trade.id
    )
    return [HistoryEntry.model_validate(e) for e in entries or []]


@router.post("/trades", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def submit_trade(
    body: t.TradeCreate,
    user: Buyer,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Submit Trade: the buyer EV's owner buys `amountKwh` from a seller EV, at most what the
    buyer still needs and the seller still has (eq. 4), for amount x price (eq. 5). Pending
    until the operator confirms or rejects it."""
    home = connector.registry.home_channel(channel)
    me = await connector.ledger.enrollment_id(user.fabric_user)
    try:
        buyer = await connector.registry.locate(session, "ev", body.buyerId, home)
    except NotFound:
        buyer = None  # not known here yet: the ledger decides
    write = connector.trading.submit_trade(body, home, me, buyer)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.post(
    "/trades/{trade_id}/rejection",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def reject_trade(
    trade_id: str,
    body: t.Rejection,
    user: Settler,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Reject Trade: the operator rejects a pending trade with a reason; both EVs get its
    energy back. Final."""
    trade = await connector.registry.locate(session, "trade", trade_id, channel)
    write = connector.trading.reject(trade, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


# -- batches ------------------------------------------------------------------------------------


@router.get("/batches", response_model=Page[ResourceOut], responses=responses(401, 404, 422))
async def list_batches(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Confirmation batches, newest first: count, energy delivered and cost of each."""
    return await paged(session, resources.Filters(kind="batch", channel=channel), limit, cursor)


@router.get("/batches/{batch_id}", response_model=BatchDetail, responses=READ)
async def get_batch(
    batch_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> BatchDetail:
    """A batch and its trades, as confirmed."""
    batch = await one(session, connector.org, "batch", batch_id, channel)
    trades = await resources.children(session, "trade", batch.id, batch.channel)
    return BatchDetail(**resource_out(batch).model_dump(), trades=[resource_out(r) for r in trades])


@router.post("/batches", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def confirm_batch(
    body: t.BatchCreate,
    user: Settler,
    connector: ConnectorDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Confirm Trades: the operator confirms up to 500 pending trades in one transaction, each
    with the energy delivered (at most the agreed; by default the agreed), all or none. A
    confirmed trade is final; less delivered than agreed gives the difference back to both EVs."""
    write = connector.trading.confirm(body, connector.registry.home_channel(channel))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)
