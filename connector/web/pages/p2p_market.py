"""The P2P market's home, parameters and EVs, for the infrastructure operator and the EV users,
all through the API's own routes (`connector.routes.p2p`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, LedgerDown, NotFound
from connector.ledger import LedgerError
from connector.org import Role
from connector.permissions import Action
from connector.routes import p2p as api
from connector.schemas import trading as t
from connector.schemas.common import ResourceOut
from connector.store import operations, resources
from connector.web import forms
from connector.web.actions import banner, idempotency_key, new_key, perform
from connector.web.lists import listing
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui/p2p", dependencies=[Depends(api.on_the_market)])
Declarer = Annotated[Principal, Depends(page_requires(Action.declare))]
Settler = Annotated[Principal, Depends(page_requires(Action.settle))]
Csrf = Depends(check_csrf)


async def in_force(connector: Any, user: Principal, session: Any) -> ResourceOut | None:
    """The market parameters in force, or None before the operator sets any."""
    try:
        return await api.parameters_in_force(
            user=user, connector=connector, session=session, channel=None
        )
    except NotFound:
        return None


async def home(request: Request, user: Principal, connector: Any, session: Any) -> HTMLResponse:
    """The market's home (`/ui/` of these connectors): what waits, the parameters in force,
    trades by status and EVs by role, the latest operations."""
    trades = await resources.counts_by_status(session, "trade")
    evs = await resources.counts_by_status(session, "ev")
    role = connector.org.me.role
    mine = None
    if role is Role.EVUSER:
        me = await connector.ledger.enrollment_id(user.fabric_user)
        mine = await resources.counts_by_status(session, "ev", parent_id=me)
    recent, _, _ = await operations.page(session, 8, None)
    return render(
        request,
        "p2p/home.html",
        user,
        "home",
        role=role.value,
        params=await in_force(connector, user, session),
        trades=[(st.value, trades.get(st.value, 0)) for st in t.TradeStatus],
        evs=[(r.value, evs.get(r.value, 0)) for r in t.EvRole],
        mine=mine,
        recent=[connector.runner.present(o) for o in recent],
    )


# -- parameters ---------------------------------------------------------------------------------


async def _parameters_page(
    request: Request,
    user: Principal,
    outcome: forms.Outcome | None = None,
    error: ApiError | None = None,
    op: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.reading() as session:
        current = await in_force(connector, user, session)
        versions = await api.parameter_versions(
            user=user, connector=connector, session=session, channel=None, limit=20, cursor=None
        )
    return render(
        request,
        "p2p/parameters.html",
        user,
        "parameters",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        params=current,
        versions=versions,
        sections=forms.PARAMETER_SECTIONS,
        # the form starts from the values in force: a change is usually to one of them
        values=outcome.values if outcome else _in_force_values(current),
        errors=outcome.errors if outcome else {},
        form_errors=(outcome.form_errors if outcome else []) + ([error.message] if error else []),
        key=new_key(),
        done=await banner(request, op),
    )


def _in_force_values(current: ResourceOut | None) -> dict[str, str]:
    if current is None:
        return {}
    names = forms.field_names(forms.PARAMETER_SECTIONS)
    return {k: str(v) for k, v in current.record.items() if k in names}


@router.get("/parameters", response_class=HTMLResponse)
async def parameters(
    request: Request, user: PageUser, op: Annotated[str | None, Query(max_length=700)] = None
) -> HTMLResponse:
    return await _parameters_page(request, user, op=op)


@router.post("/parameters", response_class=HTMLResponse, dependencies=[Csrf])
async def set_parameters(request: Request, user: Settler, connector: ConnectorDep) -> Response:
    form = await request.form()
    fields = forms.field_names(forms.PARAMETER_SECTIONS)
    outcome = forms.parse(t.MarketParameters, forms.values_of(form), fields)
    if not outcome.ok:
        return await _parameters_page(request, user, outcome)
    body = outcome.body
    assert isinstance(body, t.MarketParameters)

    async def refused(exc: ApiError) -> Response:
        return await _parameters_page(request, user, outcome, exc)

    return await perform(
        connector,
        lambda response, prefer: api.set_parameters(
            body=body,
            user=user,
            connector=connector,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        "/ui/p2p/parameters",
        refused,
    )


# -- EVs ----------------------------------------------------------------------------------------


@router.get("/evs", response_class=HTMLResponse)
async def ev_list(
    request: Request,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    role: t.EvRole | None = None,
    mine: bool = False,
    q: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    back: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    page = await api.list_evs(
        user=user,
        connector=connector,
        session=session,
        role=role,
        owner=None,
        mine=mine,
        q=q or None,
        channel=None,
        limit=50,
        cursor=cursor,
    )
    return render(
        request,
        "p2p/evs.html",
        user,
        "evs",
        page=page,
        paging=listing(request, page, cursor, back),
        roles=[r.value for r in t.EvRole],
        role=role.value if role else "",
        mine=mine,
        q=q or "",
        me=await connector.ledger.enrollment_id(user.fabric_user),
        params=await in_force(connector, user, session),
    )


async def _new_ev_form(
    request: Request,
    user: Principal,
    outcome: forms.Outcome | None = None,
    error: ApiError | None = None,
    op: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.reading() as session:
        params = await in_force(connector, user, session)
    return render(
        request,
        "p2p/ev_new.html",
        user,
        "evs",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        sections=forms.ev_sections(connector.org.me.role is Role.INFRA),
        values=outcome.values if outcome else {},
        errors=outcome.errors if outcome else {},
        form_errors=(outcome.form_errors if outcome else []) + ([error.message] if error else []),
        key=new_key(),
        params=params,
        done=await banner(request, op),
    )


@router.get("/evs/new", response_class=HTMLResponse)
async def ev_new(
    request: Request, user: Declarer, op: Annotated[str | None, Query(max_length=700)] = None
) -> HTMLResponse:
    return await _new_ev_form(request, user, op=op)


@router.post("/evs/new", response_class=HTMLResponse, dependencies=[Csrf])
async def ev_create(request: Request, user: Declarer, connector: ConnectorDep) -> Response:
    form = await request.form()
    sections = forms.ev_sections(connector.org.me.role is Role.INFRA)
    outcome = forms.parse(t.EvDeclaration, forms.values_of(form), forms.field_names(sections))
    if not outcome.ok:
        return await _new_ev_form(request, user, outcome)
    body = outcome.body
    assert isinstance(body, t.EvDeclaration)

    async def refused(exc: ApiError) -> Response:
        return await _new_ev_form(request, user, outcome, exc)

    return await perform(
        connector,
        lambda response, prefer: api.declare_ev(
            body=body,
            user=user,
            connector=connector,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        "/ui/p2p/evs/new",
        refused,
        landing=lambda op: f"/ui/p2p/evs/{op.resourceId}",
    )


@router.get("/evs/{ev_id}", response_class=HTMLResponse)
async def ev_view(
    request: Request,
    ev_id: str,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    op: Annotated[str | None, Query(max_length=700)] = None,
) -> HTMLResponse:
    ev = await api.get_ev(
        ev_id=ev_id, user=user, connector=connector, session=session, channel=None
    )
    balance = trades = None
    unread = None
    try:  # read from the ledger itself: the page still shows the EV when the ledger is away
        balance = await api.ev_balance(
            ev_id=ev_id, user=user, connector=connector, session=session, channel=None
        )
        trades = await api.ev_trades(
            ev_id=ev_id,
            user=user,
            connector=connector,
            session=session,
            limit=200,
            bookmark="",
            channel=None,
        )
    except LedgerError as exc:
        unread = LedgerDown(str(exc)).message
    me = await connector.ledger.enrollment_id(user.fabric_user)
    return render(
        request,
        "p2p/ev.html",
        user,
        "evs",
        ev=ev,
        record=ev.record,
        balance=balance,
        trades=trades.records if trades else [],
        unread=unread,
        mine=ev.record.get("owner") == me,
        done=await banner(request, op),
    )
