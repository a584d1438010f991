"""The market (bidding, activation, verification, settlement): the overview of periods and what
waits for this role, the TSO's opening of a period, and a period's page (its clock and gate,
the BSP's offer form, the offers, activations and statements of the period).

Every read and write is the API's own route function (`connector.routes.market*`) with the
page's user; a page never asks the ledger itself. A record may exist on several channels (the
TSO opens a period on each BSP's), so every link and form carries its `?channel=`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput
from connector.org import Role
from connector.permissions import Action
from connector.routes import market as market_api
from connector.routes import market_activations as activation_api
from connector.routes import market_statements as statement_api
from connector.routes import uvams as uvam_api
from connector.schemas import market as s
from connector.schemas import registry as rs
from connector.schemas.common import ResourceOut
from connector.web import forms, market_forms
from connector.web.actions import Refusal, banner, idempotency_key, new_key, perform
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui")
Dispatcher = Annotated[Principal, Depends(page_requires(Action.dispatch))]
Bidder = Annotated[Principal, Depends(page_requires(Action.bid))]
Csrf = Depends(check_csrf)
ChannelQ = Annotated[str | None, Query(max_length=64)]
OpQ = Annotated[str | None, Query(max_length=700)]
LIST = 200


def here(path: str, channel: str | None) -> str:
    return f"{path}?channel={channel}" if channel else path


def parties(connector: Any) -> dict[str, str]:
    return {p.eic: p.name for p in connector.org.parties}


def may_read_statements(connector: Any) -> bool:
    return connector.org.me.role in (Role.BSP, Role.TSO)


# -- the overview ------------------------------------------------------------------------------


async def overview(
    request: Request,
    user: Principal,
    connector: Any,
    session: Any,
    outcome: forms.Outcome | None = None,
    error: ApiError | None = None,
) -> HTMLResponse:
    role = connector.org.me.role
    periods = await market_api.list_periods(
        user=user, connector=connector, session=session, channel=None, limit=LIST, cursor=None
    )
    waiting = activations = statements = None
    if role is Role.TSO:
        waiting = await market_api.list_offers(
            user=user,
            connector=connector,
            session=session,
            period=None,
            status=None,
            submitted=True,
            channel=None,
            limit=LIST,
            cursor=None,
        )
    if role in (Role.BSP, Role.DSO, Role.TSO):
        activations = await activation_api.list_activations(
            user=user,
            connector=connector,
            session=session,
            period=None,
            status="Sent" if role is Role.BSP else None,
            channel=None,
            limit=LIST,
            cursor=None,
        )
    if may_read_statements(connector):
        statements = await statement_api.list_statements(
            user=user,
            connector=connector,
            session=session,
            period=None,
            channel=None,
            limit=LIST,
            cursor=None,
        )
    return render(
        request,
        "market/index.html",
        user,
        "market",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        role=role.value,
        periods=periods,
        waiting=waiting,
        activations=activations,
        statements=statements,
        names=parties(connector),
        may_dispatch=Action.dispatch in user.actions,
        sections=market_forms.PERIOD,
        channels=connector.org.channels,
        values=outcome.values if outcome else {},
        errors=outcome.errors if outcome else {},
        form_errors=(outcome.form_errors if outcome else []) + ([error.message] if error else []),
        key=new_key(),
    )


@router.get("/market", response_class=HTMLResponse)
async def market(
    request: Request, user: PageUser, connector: ConnectorDep, session: SessionDep
) -> HTMLResponse:
    return await overview(request, user, connector, session)


@router.post("/market/periods", dependencies=[Csrf])
async def open_period(
    request: Request, user: Dispatcher, connector: ConnectorDep, session: SessionDep
) -> Response:
    """Open Market Period (the TSO) on the channel chosen in the form."""
    form = await request.form()
    values = forms.values_of(form)
    channel = values.pop("channel", None)
    fields = {f.name for sec in market_forms.PERIOD for f in sec.fields}
    outcome = forms.parse(s.MarketPeriodCreate, values, fields)
    if not outcome.ok:
        outcome.values["channel"] = channel or ""
        return await overview(request, user, connector, session, outcome)
    body = outcome.body
    assert isinstance(body, s.MarketPeriodCreate)

    async def refused(exc: ApiError) -> Response:
        return await overview(request, user, connector, session, outcome, exc)

    return await perform(
        connector,
        lambda response, prefer: market_api.open_period(
            body=body,
            user=user,
            connector=connector,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        "/ui/market",
        refused,
        landing=lambda op: here(f"/ui/market/periods/{op.resourceId}", op.channel),
    )


# -- a period ---------------------------------------------------------------------------------


async def _qualified_uvams(user: Principal, connector: Any, session: Any, channel: str) -> Any:
    page = await uvam_api.list_uvams(
        user=user,
        connector=connector,
        session=session,
        status=rs.UvamStatus.Qualified,
        q=None,
        channel=channel,
        limit=LIST,
        cursor=None,
    )
    return [(u.id, f"{u.name or u.id} ({u.id})") for u in page.items]


async def period_page(
    request: Request,
    user: Principal,
    period_id: str,
    channel: str | None,
    *,
    error: ApiError | None = None,
    outcome: forms.Outcome | None = None,
    op_ids: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    role = connector.org.me.role
    async with connector.db.session() as session:
        period = await market_api.get_period(
            period_id=period_id, user=user, connector=connector, session=session, channel=channel
        )
        where = period.channel
        offers: list[ResourceOut] = []
        if role is not Role.DSO:  # a DSO's peer holds no offers
            offers = (
                await market_api.list_offers(
                    user=user,
                    connector=connector,
                    session=session,
                    period=period.id,
                    status=None,
                    submitted=False,
                    channel=where,
                    limit=LIST,
                    cursor=None,
                )
            ).items
        activations = await activation_api.list_activations(
            user=user,
            connector=connector,
            session=session,
            period=period.id,
            status=None,
            channel=where,
            limit=LIST,
            cursor=None,
        )
        statements: list[ResourceOut] = []
        if may_read_statements(connector):
            statements = (
                await statement_api.list_statements(
                    user=user,
                    connector=connector,
                    session=session,
                    period=period.id,
                    channel=where,
                    limit=LIST,
                    cursor=None,
                )
            ).items
        may_bid = Action.bid in user.actions
        uvams = await _qualified_uvams(user, connector, session, where) if may_bid else []
    record = period.record
    gate_open = str(period.marketTime or "") < str(record.get("gateClosure"))
    settled = {st.record.get("flexibilityServiceProviderId") for st in statements}
    bsps = sorted({str(o.ownerEic) for o in offers if o.ownerEic and o.ownerEic not in settled})
    return render(
        request,
        "market/period.html",
        user,
        "market",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        period=period,
        record=record,
        role=role.value,
        error=error,
        done=await banner(request, op_ids),
        gate_open=gate_open,
        offers=offers,
        activations=activations.items,
        statements=statements,
        names=parties(connector),
        may_bid=may_bid,
        may_dispatch=Action.dispatch in user.actions,
        offer_fields=market_forms.offer_fields(uvams),
        uvams=uvams,
        clock_field=market_forms.CLOCK,
        gate_field=market_forms.GATE,
        bsps_to_settle=bsps,
        values=outcome.values if outcome else {},
        errors=outcome.errors if outcome else {},
        form_errors=outcome.form_errors if outcome else [],
        key=new_key(),
        live=f"MarketPeriod:{period.id} Offer:* Activation:* Statement:*",
    )


@router.get("/market/periods/{period_id}", response_class=HTMLResponse)
async def period_view(
    request: Request, period_id: str, user: PageUser, channel: ChannelQ = None, op: OpQ = None
) -> HTMLResponse:
    return await period_page(request, user, period_id, channel, op_ids=op)


def period_refusal(
    request: Request, user: Principal, period_id: str, channel: str | None
) -> Refusal:
    async def show(exc: ApiError) -> Response:
        return await period_page(request, user, period_id, channel, error=exc)

    return show


@router.post("/market/periods/{period_id}/clock", dependencies=[Csrf])
async def move_clock(
    request: Request,
    period_id: str,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    """Move a demo period's clock forward (the TSO)."""
    form = await request.form()
    outcome = forms.parse(s.ClockChange, forms.values_of(form), {"demoTime"})
    back = here(f"/ui/market/periods/{period_id}", channel)
    if not outcome.ok:
        return await period_page(request, user, period_id, channel, outcome=outcome)
    body = outcome.body
    assert isinstance(body, s.ClockChange)
    return await perform(
        connector,
        lambda response, prefer: market_api.advance_clock(
            period_id=period_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        back,
        period_refusal(request, user, period_id, channel),
    )


@router.post("/market/periods/{period_id}/gate", dependencies=[Csrf])
async def move_gate(
    request: Request,
    period_id: str,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    """Move the gate (the TSO) while it has not passed."""
    form = await request.form()
    outcome = forms.parse(s.GateChange, forms.values_of(form), {"gateClosure"})
    if not outcome.ok:
        return await period_page(request, user, period_id, channel, outcome=outcome)
    body = outcome.body
    assert isinstance(body, s.GateChange)
    return await perform(
        connector,
        lambda response, prefer: market_api.move_gate(
            period_id=period_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/periods/{period_id}", channel),
        period_refusal(request, user, period_id, channel),
    )


@router.post("/market/periods/{period_id}/offers", dependencies=[Csrf])
async def submit_offer(
    request: Request,
    period_id: str,
    user: Bidder,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    """Submit Offer (the BSP): the price goes to the ledger as private data."""
    form = await request.form()
    values = {**forms.values_of(form), "periodId": period_id}
    fields = market_forms.names(market_forms.offer_fields([]))
    extra = {}
    if "quantities" in values:  # a profile, typed or pasted: kW per step, in order
        try:
            extra["quantities"] = market_forms.profile(values["quantities"])
        except ValueError as exc:
            problem = forms.Outcome(None, values, errors={"quantities": str(exc)})
            return await period_page(request, user, period_id, channel, outcome=problem)
    outcome = forms.parse(s.OfferCreate, values, fields, extra)  # the profile as typed stays
    if not outcome.ok:
        return await period_page(request, user, period_id, channel, outcome=outcome)
    body = outcome.body
    assert isinstance(body, s.OfferCreate)
    return await perform(
        connector,
        lambda response, prefer: market_api.submit_offer(
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/periods/{period_id}", channel),
        period_refusal(request, user, period_id, channel),
        landing=lambda op: here(f"/ui/market/offers/{op.resourceId}", op.channel),
    )


@router.post("/market/periods/{period_id}/statements", dependencies=[Csrf])
async def issue_statement(
    request: Request,
    period_id: str,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    """Issue Statement (the TSO) for one BSP of the period."""
    form = await request.form()
    values = {**forms.values_of(form), "periodId": period_id}
    outcome = forms.parse(s.StatementCreate, values, {"flexibilityServiceProviderId"})
    if not outcome.ok:
        problems = "; ".join(f"{k}: {v}" for k, v in outcome.errors.items())
        return await period_page(
            request, user, period_id, channel, error=InvalidInput(problems or "check the BSP")
        )
    body = outcome.body
    assert isinstance(body, s.StatementCreate)
    return await perform(
        connector,
        lambda response, prefer: statement_api.issue_statement(
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/periods/{period_id}", channel),
        period_refusal(request, user, period_id, channel),
        landing=lambda op: here(f"/ui/market/statements/{op.resourceId}", op.channel),
    )
