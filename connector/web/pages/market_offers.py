"""An offer's page: its steps and price (its BSP and the TSO only), the TSO's acceptance or
rejection after the gate, the BSP's withdrawal before it, and the TSO's set points (Send
Activation) against an accepted offer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput
from connector.permissions import Action
from connector.routes import market as market_api
from connector.routes import market_activations as activation_api
from connector.schemas import market as s
from connector.web import forms, market_forms
from connector.web.actions import Refusal, banner, idempotency_key, new_key, perform
from connector.web.pages.market import ChannelQ, OpQ, here, parties
from connector.web.profile_chart import profile_chart
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui")
Dispatcher = Annotated[Principal, Depends(page_requires(Action.dispatch))]
Csrf = Depends(check_csrf)


def steps_summary(quantities: list[dict[str, float]]) -> str:
    """'40 kW at each of 96 steps', or the range when the steps differ."""
    values = [float(q.get("quantity", 0)) for q in quantities]
    if not values:
        return "no step"
    if min(values) == max(values):
        return f"{values[0]:g} kW at each of {len(values)} steps"
    return f"{min(values):g} to {max(values):g} kW over {len(values)} steps"


async def offer_page(
    request: Request,
    user: Principal,
    offer_id: str,
    channel: str | None,
    *,
    error: ApiError | None = None,
    outcome: forms.Outcome | None = None,
    op_ids: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    channel = channel or None
    async with connector.db.session() as session:
        offer = await market_api.get_offer(
            offer_id=offer_id, user=user, connector=connector, session=session, channel=channel
        )
        sent = await activation_api.list_activations(
            user=user,
            connector=connector,
            session=session,
            period=str(offer.record.get("periodId")),
            status=None,
            channel=offer.channel,
            limit=200,
            cursor=None,
        )
    activations = [a for a in sent.items if a.record.get("offerId") == offer.id]
    return render(
        request,
        "market/offer.html",
        user,
        "market",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        offer=offer,
        record=offer.record,
        steps=steps_summary(offer.record.get("quantities") or []),
        chart=profile_chart(
            offer.record.get("quantities") or [], offer.record.get("deliveryStart")
        ),
        activations=activations,
        names=parties(connector),
        error=error,
        done=await banner(request, op_ids),
        may_bid=Action.bid in user.actions,
        may_dispatch=Action.dispatch in user.actions,
        activation_fields=market_forms.ACTIVATION,
        values=outcome.values if outcome else {},
        errors=outcome.errors if outcome else {},
        form_errors=outcome.form_errors if outcome else [],
        key=new_key(),
        live=f"Offer:{offer.id} Activation:*",
    )


@router.get("/market/offers/{offer_id}", response_class=HTMLResponse)
async def offer_view(
    request: Request, offer_id: str, user: PageUser, channel: ChannelQ = None, op: OpQ = None
) -> HTMLResponse:
    return await offer_page(request, user, offer_id, channel, op_ids=op)


def _refusal(request: Request, user: Principal, offer_id: str, channel: str | None) -> Refusal:
    async def show(exc: ApiError) -> Response:
        return await offer_page(request, user, offer_id, channel, error=exc)

    return show


@router.post("/market/offers/{offer_id}/status", dependencies=[Csrf])
async def offer_decision(
    request: Request,
    offer_id: str,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    """Accept or reject (the TSO, after the gate); withdraw (the BSP, before it). The API's
    route checks which of the two this user may do."""
    form = await request.form()
    outcome = forms.parse(s.OfferStatusChange, forms.values_of(form), {"status", "reason"})
    if not outcome.ok:
        rules = "; ".join(outcome.form_errors or [f"{k}: {v}" for k, v in outcome.errors.items()])
        return await offer_page(request, user, offer_id, channel, error=InvalidInput(rules))
    body = outcome.body
    assert isinstance(body, s.OfferStatusChange)
    return await perform(
        connector,
        lambda response, prefer: market_api.offer_status(
            offer_id=offer_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/offers/{offer_id}", channel),
        _refusal(request, user, offer_id, channel),
    )


@router.post("/market/offers/{offer_id}/activations", dependencies=[Csrf])
async def send_activation(
    request: Request,
    offer_id: str,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    """Send Activation (the TSO): a set point against this accepted offer."""
    form = await request.form()
    values = {**forms.values_of(form), "offerId": offer_id}
    outcome = forms.parse(s.ActivationCreate, values, market_forms.names(market_forms.ACTIVATION))
    if not outcome.ok:
        return await offer_page(request, user, offer_id, channel, outcome=outcome)
    body = outcome.body
    assert isinstance(body, s.ActivationCreate)
    return await perform(
        connector,
        lambda response, prefer: activation_api.send_activation(
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/offers/{offer_id}", channel),
        _refusal(request, user, offer_id, channel),
        landing=lambda op: here(f"/ui/market/activations/{op.resourceId}", op.channel),
    )
