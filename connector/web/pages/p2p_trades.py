"""The P2P market's transactions (the seed's figures 6-7): pending trades, which the
infrastructure operator confirms in a batch with the energy delivered or rejects with a
reason; confirmed trades with their batch; an EV user's new trade, with the rules of eq. 4-5
shown as it is typed. Every write goes through the API's own routes (`connector.routes.trades`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput, validation_fields
from connector.org import Role
from connector.permissions import Action
from connector.routes import p2p as p2p_api
from connector.routes import trades as api
from connector.schemas import trading as t
from connector.schemas.common import ResourceOut
from connector.store import resources
from connector.web import forms
from connector.web.actions import banner, idempotency_key, new_key, perform
from connector.web.lists import listing
from connector.web.pages.p2p_market import in_force
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui/p2p", dependencies=[Depends(p2p_api.on_the_market)])
Buyer = Annotated[Principal, Depends(page_requires(Action.trade))]
Settler = Annotated[Principal, Depends(page_requires(Action.settle))]
Csrf = Depends(check_csrf)
OpIds = Annotated[str | None, Query(max_length=700)]
CHOICES = 500  # EVs offered in the trade form's lists

HEADINGS = {
    "Pending": "Pending transactions",
    "Confirmed": "Confirmed transactions",
    "Rejected": "Rejected transactions",
}


async def _trades_page(
    request: Request,
    user: Principal,
    status: t.TradeStatus,
    q: str | None = None,
    cursor: str | None = None,
    back: str | None = None,
    error: ApiError | None = None,
    op: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.reading() as session:
        page = await api.list_trades(
            user=user,
            connector=connector,
            session=session,
            status=status,
            batch=None,
            q=q or None,
            channel=None,
            limit=50,
            cursor=cursor,
        )
    return render(
        request,
        "p2p/trades.html",
        user,
        status.value.lower(),
        status_code=error.status if error else 200,
        page=page,
        paging=listing(request, page, cursor, back),
        status=status.value,
        heading=HEADINGS[status.value],
        statuses=[s.value for s in t.TradeStatus],
        q=q or "",
        may_confirm=Action.settle in user.actions and status is t.TradeStatus.Pending,
        error=error,
        key=new_key(),
        done=await banner(request, op),
    )


@router.get("/trades", response_class=HTMLResponse)
async def trade_list(
    request: Request,
    user: PageUser,
    status: t.TradeStatus = t.TradeStatus.Pending,
    q: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    back: Annotated[str | None, Query(max_length=2000)] = None,
    op: OpIds = None,
) -> HTMLResponse:
    return await _trades_page(request, user, status, q, cursor, back, op=op)


def batch_of(form: Any) -> dict[str, Any]:
    """The confirmation the pending page's form asks for: the trades ticked (or every trade
    shown, with `all`), each with the energy typed as delivered."""
    chosen = form.getlist("shown") if form.get("all") else form.getlist("trade")
    confirmations = []
    for trade_id in dict.fromkeys(str(c) for c in chosen):
        item: dict[str, Any] = {"tradeId": trade_id}
        delivered = str(form.get(f"delivered:{trade_id}") or "").strip()
        if delivered:
            item["deliveredKwh"] = delivered
        confirmations.append(item)
    body: dict[str, Any] = {"confirmations": confirmations}
    batch_id = str(form.get("batchId") or "").strip()
    if batch_id:
        body["batchId"] = batch_id
    return body


@router.post("/batches", response_class=HTMLResponse, dependencies=[Csrf])
async def confirm(request: Request, user: Settler, connector: ConnectorDep) -> Response:
    """Confirm the selected pending trades in one batch: Confirm Trades, all or none."""
    form = await request.form()
    pending = t.TradeStatus.Pending
    try:
        body = t.BatchCreate.model_validate(batch_of(form))
    except ValidationError as exc:
        problems = validation_fields([dict(e) for e in exc.errors()])
        if not batch_of(form)["confirmations"]:
            message = "tick the trades to confirm (or confirm every trade shown)"
        else:
            message = "; ".join(f"{p.field or 'batch'}: {p.rule}" for p in problems[:3])
        return await _trades_page(request, user, pending, error=InvalidInput(message))

    async def refused(exc: ApiError) -> Response:
        return await _trades_page(request, user, pending, error=exc)

    return await perform(
        connector,
        lambda response, prefer: api.confirm_batch(
            body=body,
            user=user,
            connector=connector,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        "/ui/p2p/trades?status=Pending",
        refused,
        landing=lambda op: f"/ui/p2p/batches/{op.resourceId}",
    )


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
async def batch_view(
    request: Request,
    batch_id: str,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    op: OpIds = None,
) -> HTMLResponse:
    batch = await api.get_batch(
        batch_id=batch_id, user=user, connector=connector, session=session, channel=None
    )
    return render(
        request,
        "p2p/batch.html",
        user,
        "confirmed",
        batch=batch,
        record=batch.record,
        done=await banner(request, op),
    )


# -- a new trade (an EV user) -------------------------------------------------------------------


async def _choices(
    connector: Any, user: Principal, session: Any
) -> tuple[list[ResourceOut], list[ResourceOut]]:
    """The user's buyers that still need energy, and the sellers that still have some."""

    async def evs(role: t.EvRole, mine: bool) -> list[ResourceOut]:
        page = await p2p_api.list_evs(
            user=user,
            connector=connector,
            session=session,
            role=role,
            owner=None,
            mine=mine,
            q=None,
            channel=None,
            limit=CHOICES,
            cursor=None,
        )
        return [e for e in page.items if Decimal(e.record.get("remainingKwh", "0")) > 0]

    return await evs(t.EvRole.Buyer, True), await evs(t.EvRole.Seller, False)


def _kwh(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001'))}"


def energy_rule(
    amount: str | None, buyer: ResourceOut | None, seller: ResourceOut | None
) -> str | None:
    """Eq. 4 against what the connector knows of both EVs (the ledger decides again)."""
    try:
        wanted = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    if buyer is not None:
        need = Decimal(buyer.record["remainingKwh"])
        if wanted > need:
            return (
                f"{_kwh(wanted)} kWh exceeds buyer EV {buyer.id}'s remaining need of "
                f"{_kwh(need)} kWh (eq. 4)"
            )
    if seller is not None:
        left = Decimal(seller.record["remainingKwh"])
        if wanted > left:
            most = min(left, Decimal(buyer.record["remainingKwh"])) if buyer else left
            return (
                f"{_kwh(wanted)} kWh exceeds seller EV {seller.id}'s remaining {_kwh(left)} kWh;"
                f" at most {_kwh(most)} kWh (eq. 4)"
            )
    return None


def cost_note(amount: str | None, params: ResourceOut | None) -> str:
    """Eq. 5 as the ledger applies it: amount x price, to the cent, half to even."""
    if params is None:
        return ""
    price = Decimal(params.record["priceEurPerKwh"])
    try:
        energy = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"cost = amount × {price} EUR/kWh (eq. 5)"
    if energy <= 0:
        return f"cost = amount × {price} EUR/kWh (eq. 5)"
    cost = (energy * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return f"{_kwh(energy)} kWh × {price} EUR/kWh = {cost} EUR (eq. 5)"


def _trade_check(
    values: dict[str, str],
    buyers: list[ResourceOut],
    sellers: list[ResourceOut],
    params: ResourceOut | None,
) -> forms.Outcome:
    outcome = forms.parse(t.TradeCreate, values, {"tradeId", "buyerId", "sellerId", "amountKwh"})
    buyer = next((b for b in buyers if b.id == values.get("buyerId")), None)
    seller = next((s for s in sellers if s.id == values.get("sellerId")), None)
    if "amountKwh" not in outcome.errors:
        rule = energy_rule(values.get("amountKwh"), buyer, seller)
        if rule is not None:
            outcome.errors["amountKwh"] = rule
    return outcome


async def _new_trade_form(
    request: Request,
    user: Principal,
    values: dict[str, str] | None = None,
    outcome: forms.Outcome | None = None,
    error: ApiError | None = None,
    op: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.reading() as session:
        buyers, sellers = await _choices(connector, user, session)
        params = await in_force(connector, user, session)
    values = outcome.values if outcome else (values or {})
    return render(
        request,
        "p2p/trade_new.html",
        user,
        "new-trade",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        buyers=buyers,
        sellers=sellers,
        params=params,
        values=values,
        errors=outcome.errors if outcome else {},
        form_errors=(outcome.form_errors if outcome else []) + ([error.message] if error else []),
        cost=cost_note(values.get("amountKwh"), params),
        key=new_key(),
        done=await banner(request, op),
    )


@router.get("/trades/new", response_class=HTMLResponse)
async def trade_new(
    request: Request,
    user: Buyer,
    buyer: Annotated[str | None, Query(max_length=64)] = None,
    op: OpIds = None,
) -> HTMLResponse:
    return await _new_trade_form(request, user, {"buyerId": buyer} if buyer else None, op=op)


@router.post("/check/trade", response_class=JSONResponse)
async def check_trade(
    request: Request, user: Buyer, connector: ConnectorDep, session: SessionDep
) -> JSONResponse:
    """The rules the new trade's values break as they are typed: the API's model, then eq. 4
    against the EVs as this connector knows them; and its cost by eq. 5."""
    values = forms.values_of(await request.form())
    buyers, sellers = await _choices(connector, user, session)
    params = await in_force(connector, user, session)
    outcome = _trade_check(values, buyers, sellers, params)
    return JSONResponse(
        {
            "fields": outcome.errors,
            "form": outcome.form_errors,
            "notes": {"amountKwh": cost_note(values.get("amountKwh"), params)},
        }
    )


@router.post("/trades/new", response_class=HTMLResponse, dependencies=[Csrf])
async def trade_create(
    request: Request, user: Buyer, connector: ConnectorDep, session: SessionDep
) -> Response:
    form = await request.form()
    outcome = forms.parse(
        t.TradeCreate, forms.values_of(form), {"tradeId", "buyerId", "sellerId", "amountKwh"}
    )
    if not outcome.ok:
        return await _new_trade_form(request, user, outcome=outcome)
    body = outcome.body
    assert isinstance(body, t.TradeCreate)

    async def refused(exc: ApiError) -> Response:
        return await _new_trade_form(request, user, outcome=outcome, error=exc)

    # the ledger decides eq. 4 (the form showed the rule as typed): its refusal comes back here
    return await perform(
        connector,
        lambda response, prefer: api.submit_trade(
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        "/ui/p2p/trades/new",
        refused,
        landing=lambda op: f"/ui/p2p/trades/{op.resourceId}",
    )


# -- one trade ----------------------------------------------------------------------------------


async def _trade_page(
    request: Request,
    user: Principal,
    trade_id: str,
    error: ApiError | None = None,
    op: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.reading() as session:
        trade = await api.get_trade(
            trade_id=trade_id, user=user, connector=connector, session=session, channel=None
        )
        batch = None
        if trade.parentId:
            found = await resources.get(session, "batch", trade.parentId, trade.channel)
            batch = found[0].data if found else None
    return render(
        request,
        "p2p/trade.html",
        user,
        "confirmed" if trade.status == "Confirmed" else "pending",
        status_code=error.status if error else 200,
        trade=trade,
        record=trade.record,
        batch=batch,
        may_decide=Action.settle in user.actions and trade.status == "Pending",
        operator=connector.org.me.role is Role.INFRA,
        error=error,
        key=new_key(),
        done=await banner(request, op),
    )


@router.get("/trades/{trade_id}", response_class=HTMLResponse)
async def trade_view(
    request: Request, trade_id: str, user: PageUser, op: OpIds = None
) -> HTMLResponse:
    return await _trade_page(request, user, trade_id, op=op)


@router.post("/trades/{trade_id}/rejection", dependencies=[Csrf])
async def reject(
    request: Request, trade_id: str, user: Settler, connector: ConnectorDep, session: SessionDep
) -> Response:
    form = await request.form()
    outcome = forms.parse(t.Rejection, forms.values_of(form), {"reason"})

    async def refused(exc: ApiError) -> Response:
        return await _trade_page(request, user, trade_id, error=exc)

    if not outcome.ok:
        rule = outcome.errors.get("reason") or "; ".join(outcome.form_errors)
        return await refused(InvalidInput(f"the reason: {rule}"))
    body = outcome.body
    assert isinstance(body, t.Rejection)
    return await perform(
        connector,
        lambda response, prefer: api.reject_trade(
            trade_id=trade_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/p2p/trades/{trade_id}",
        refused,
    )
