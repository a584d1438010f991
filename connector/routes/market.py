"""The market's bidding phase: periods and their gates (the TSO), offers (the BSP), and the
TSO's acceptance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from connector.deps import ConnectorDep, Reader, SessionDep
from connector.errors import responses
from connector.ledger import LedgerRefused
from connector.org import Role
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.market_common import (
    Bidder,
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
from connector.store.tables import Resource

router = APIRouter(prefix="/market", tags=["Market: bidding"])
READ = responses(401, 403, 404, 409)


def _market_time(period: Resource) -> str:
    record = period.data
    if record.get("clock") == "demo":
        return str(record.get("demoTime"))
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- periods ---------------------------------------------------------------------------------


@router.get("/periods", response_model=Page[ResourceOut], responses=responses(401, 422))
async def list_periods(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Market periods open on this organisation's channels, newest first."""
    return await listed(
        session,
        connector.org,
        "marketperiod",
        channel=channel,
        period=None,
        status=None,
        limit=limit,
        cursor=cursor,
    )


@router.get("/periods/{period_id}", response_model=s.MarketPeriodOut, responses=READ)
async def get_period(
    period_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> s.MarketPeriodOut:
    """One period, with the time its rules are judged at now (its demo clock, or now)."""
    period = await one(session, connector.org, "marketperiod", period_id, channel)
    return s.MarketPeriodOut(**resource_out(period).model_dump(), marketTime=_market_time(period))


@router.post("/periods", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def open_period(
    body: s.MarketPeriodCreate,
    user: Dispatcher,
    connector: ConnectorDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Open Market Period (the TSO), on one BSP's channel (`?channel=`)."""
    write = connector.market.open_period(body, connector.registry.home_channel(channel))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch(
    "/periods/{period_id}/gate",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def move_gate(
    period_id: str,
    body: s.GateChange,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Move the gate (the TSO), while it has not passed."""
    period = await connector.registry.locate(session, "marketperiod", period_id, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.move_gate(period, body), idempotency_key
    )
    return await answer(connector, op, response, prefer)


@router.put(
    "/periods/{period_id}/clock",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def advance_clock(
    period_id: str,
    body: s.ClockChange,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Move a demo period's clock forward (the TSO); a ledger-clock period refuses."""
    period = await connector.registry.locate(session, "marketperiod", period_id, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.advance_clock(period, body), idempotency_key
    )
    return await answer(connector, op, response, prefer)


# -- offers ----------------------------------------------------------------------------------


@router.get("/offers", response_model=Page[ResourceOut], responses=responses(401, 422))
async def list_offers(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    period: Period = None,
    status: s.OfferStatus | None = None,
    submitted: Annotated[bool, Query(description="only offers awaiting the TSO")] = False,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Offers this organisation may see (a BSP its own, the TSO all), newest first."""
    return await listed(
        session,
        connector.org,
        "offer",
        channel=channel,
        period=period,
        status="Submitted" if submitted else (status.value if status else None),
        limit=limit,
        cursor=cursor,
    )


@router.get("/offers/{offer_id}", response_model=s.OfferOut, responses=READ)
async def get_offer(
    offer_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> s.OfferOut:
    """One offer, with its price read from the ledger's private collection (its BSP and the
    TSO only)."""
    offer = await one(session, connector.org, "offer", offer_id, channel)
    price = None  # the price is its BSP's and the TSO's only: nobody else asks the ledger
    if connector.org.me.role in (Role.BSP, Role.TSO):
        try:
            price = await connector.ledger.evaluate(
                user.fabric_user, offer.channel, "ReadOfferPrice", offer.id
            )
        except LedgerRefused:
            price = None  # not this organisation's to read
    return s.OfferOut(**resource_out(offer).model_dump(), price=price)


@router.post("/offers", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def submit_offer(
    body: s.OfferCreate,
    user: Bidder,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Submit Offer (the BSP) for a Qualified UVAM, before the gate; the price stays private."""
    uvam = await connector.registry.locate(session, "uvam", body.resourceGroupId, channel)
    period = await connector.registry.locate(session, "marketperiod", body.periodId, uvam.channel)
    write = connector.market.submit_offer(uvam, period, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch(
    "/offers/{offer_id}/status",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def offer_status(
    offer_id: str,
    body: s.OfferStatusChange,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """The TSO accepts or rejects (with a reason) after the gate; the BSP withdraws before."""
    user.require(Action.bid if body.status is s.OfferStatus.Withdrawn else Action.dispatch)
    offer = await connector.registry.locate(session, "offer", offer_id, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.offer_status(offer, body), idempotency_key
    )
    return await answer(connector, op, response, prefer)
