"""The P2P market's parameters and EVs: the infrastructure operator sets the thresholds and the
price; EV users (or the operator, for their owners) declare EVs, whose role and energy follow
eqs. 1-3 on the ledger. Served by the connectors of the organisations on the market (roles
INFRA and EVUSER); every user of theirs reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import InvalidInput, NotFound, responses
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.views import one, resource_out
from connector.runtime import Connector
from connector.schemas import trading as t
from connector.schemas.common import OperationOut, Page, ResourceOut
from connector.store import resources


async def on_the_market(connector: ConnectorDep) -> None:
    """The P2P market's routes answer only on a connector that works with it."""
    if not connector.org.trading:
        me = connector.org.me
        raise NotFound(
            f"this connector serves {me.name} ({me.role}), which takes no part in the P2P "
            "market; the infrastructure operator's and the EV users' connectors serve it"
        )


router = APIRouter(prefix="/p2p", tags=["P2P market: parameters and EVs"])
ON_MARKET = [Depends(on_the_market)]

Declarer = Annotated[Principal, Depends(requires(Action.declare))]
Settler = Annotated[Principal, Depends(requires(Action.settle))]
Prefer = Annotated[str | None, Header(description="respond-async (default) or wait=N seconds")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
Channel = Annotated[str | None, Query(max_length=64, description="when not the only one")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=64)]
READ = responses(401, 403, 404, 409)
LEDGER_READ = responses(401, 403, 404, 409, 503, 504)


async def paged(
    session: AsyncSession, filters: resources.Filters, limit: int, cursor: str | None
) -> Page[ResourceOut]:
    try:
        items, total, nxt = await resources.page(session, filters, limit, cursor)
    except resources.CursorError as exc:
        raise InvalidInput(str(exc)) from None
    return Page(items=[resource_out(r) for r in items], total=total, nextCursor=nxt)


# -- parameters ---------------------------------------------------------------------------------


@router.get("/parameters", response_model=ResourceOut, responses=READ, dependencies=ON_MARKET)
async def parameters_in_force(
    user: Reader, connector: ConnectorDep, session: SessionDep, channel: Channel = None
) -> ResourceOut:
    """The thresholds and price in force: the latest version the operator set."""
    page = await resources.page(
        session,
        resources.Filters(kind="marketparams", channel=connector.registry.home_channel(channel)),
        1,
        None,
    )
    if not page[0]:
        raise NotFound(
            "the market parameters are not set yet; the infrastructure operator sets them "
            "(POST /p2p/parameters)"
        )
    return resource_out(page[0][0])


@router.get(
    "/parameters/versions",
    response_model=Page[ResourceOut],
    responses=responses(401, 404, 422),
    dependencies=ON_MARKET,
)
async def parameter_versions(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Every version of the parameters, newest first (a trade keeps the version it was
    submitted under)."""
    filters = resources.Filters(kind="marketparams", channel=channel)
    return await paged(session, filters, limit, cursor)


@router.post(
    "/parameters",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
    dependencies=ON_MARKET,
)
async def set_parameters(
    body: t.MarketParameters,
    user: Settler,
    connector: ConnectorDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """The operator sets T_b, T_s and P: a new version, in force for trades submitted after it
    (EVs declared under an older version are declared again before they trade)."""
    write = connector.trading.set_parameters(body, connector.registry.home_channel(channel))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


# -- EVs ----------------------------------------------------------------------------------------


@router.get(
    "/evs",
    response_model=Page[ResourceOut],
    responses=responses(401, 404, 422),
    dependencies=ON_MARKET,
)
async def list_evs(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    role: t.EvRole | None = None,
    owner: Annotated[str | None, Query(max_length=128, description="an enrollment id")] = None,
    mine: Annotated[bool, Query(description="only the EVs this user trades for")] = False,
    q: Annotated[str | None, Query(max_length=64, description="in the EV's id")] = None,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """EVs declared on the market, newest first; `status` is each one's role (eq. 1)."""
    if mine:
        owner = await connector.ledger.enrollment_id(user.fabric_user)
    filters = resources.Filters(
        kind="ev",
        channel=channel,
        status=role.value if role else None,
        parent_id=owner,
        search=q,
    )
    return await paged(session, filters, limit, cursor)


@router.get("/evs/{ev_id}", response_model=ResourceOut, responses=READ, dependencies=ON_MARKET)
async def get_ev(
    ev_id: str, user: Reader, connector: ConnectorDep, session: SessionDep, channel: Channel = None
) -> ResourceOut:
    """An EV as declared: capacity, state of charge, role, required or available energy, and
    `remainingKwh`, what it may still trade."""
    return resource_out(await one(session, connector.org, "ev", ev_id, channel))


@router.get(
    "/evs/{ev_id}/balance",
    response_model=t.EvBalance,
    responses=LEDGER_READ,
    dependencies=ON_MARKET,
)
async def ev_balance(
    ev_id: str, user: Reader, connector: ConnectorDep, session: SessionDep, channel: Channel = None
) -> t.EvBalance:
    """Bought, sold, paid and earned over all the EV's stays, pending and confirmed, read
    from the ledger itself."""
    ev = await one(session, connector.org, "ev", ev_id, channel)
    record = await connector.ledger.evaluate(user.fabric_user, ev.channel, "ReadEvBalance", ev.id)
    return t.EvBalance.model_validate(record)


@router.get(
    "/evs/{ev_id}/trades",
    response_model=t.LedgerPage,
    responses=LEDGER_READ,
    dependencies=ON_MARKET,
)
async def ev_trades(
    ev_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    limit: Limit = 100,
    bookmark: Annotated[str, Query(max_length=512)] = "",
    channel: Channel = None,
) -> t.LedgerPage:
    """The EV's trades, as buyer and as seller, read from the ledger itself."""
    ev = await one(session, connector.org, "ev", ev_id, channel)
    page = await ledger_page(connector, user, ev.channel, "ListTradesByEv", ev.id, limit, bookmark)
    return page


async def ledger_page(
    connector: Connector,
    user: Principal,
    channel: str,
    function: str,
    key: str,
    limit: int,
    bookmark: str,
) -> t.LedgerPage:
    got = await connector.ledger.evaluate(
        user.fabric_user, channel, function, key, str(limit), bookmark
    )
    more = got.get("bookmark") if got.get("fetchedCount") == limit else None
    return t.LedgerPage(records=got.get("records", []), bookmark=more or None)


@router.post(
    "/evs",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
    dependencies=ON_MARKET,
)
async def declare_ev(
    body: t.EvDeclaration,
    user: Declarer,
    connector: ConnectorDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Declare an EV (again, for a new stay, once none of its trades is pending): an EV user
    its own; the infrastructure operator for the owner it names."""
    me = await connector.ledger.enrollment_id(user.fabric_user)
    write = connector.trading.declare_ev(body, connector.registry.home_channel(channel), me)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)
