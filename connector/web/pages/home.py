"""Home (seed figure 16): the organisation's resources counted by status, what waits for it,
and its latest operations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from connector.deps import ConnectorDep, SessionDep
from connector.org import Role
from connector.routes.views import scope
from connector.schemas import registry as s
from connector.store import operations, resources
from connector.web.pages import p2p_market
from connector.web.session import PageUser
from connector.web.templating import render, sync_position

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui", include_in_schema=False)
async def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/live/position", response_class=PlainTextResponse)
async def live_position(user: PageUser, connector: ConnectorDep) -> str:
    """The event sync's position, which the page script compares with its page's."""
    return sync_position(connector)


@router.get("/ui/", response_class=HTMLResponse)
async def home(
    request: Request, user: PageUser, connector: ConnectorDep, session: SessionDep
) -> HTMLResponse:
    org = connector.org
    if org.trading:  # the P2P market's operator and EV users
        return await p2p_market.home(request, user, connector, session)
    pods = await resources.counts_by_status(session, "pod", **scope(org, "pod"))
    uvams = await resources.counts_by_status(session, "uvam", **scope(org, "uvam"))
    recent, _, _ = await operations.page(session, 8, None)
    role = org.me.role
    waiting: list[tuple[str, int, str]] = []
    if role is Role.TSO:
        waiting = [
            ("PODs to review", pods.get("UnderReview", 0), "/ui/review"),
            ("UVAMs to qualify", uvams.get("UnderReview", 0), "/ui/review"),
        ]
    elif role is Role.DSO:
        waiting = [("PODs awaiting analysis", pods.get("PreValidated", 0), "/ui/review")]
    elif role is Role.BSP:
        waiting = [
            ("PODs to complete", pods.get("Registered", 0) + pods.get("Open", 0), "/ui/pods"),
            ("UVAMs to complete", uvams.get("Registered", 0) + uvams.get("Open", 0), "/ui/uvams"),
        ]
    return render(
        request,
        "home.html",
        user,
        "home",
        pods=[(st.value, pods.get(st.value, 0)) for st in s.PodStatus],
        uvams=[(st.value, uvams.get(st.value, 0)) for st in s.UvamStatus],
        pod_total=sum(pods.values()),
        uvam_total=sum(uvams.values()),
        waiting=waiting,
        recent=[connector.runner.present(o) for o in recent],
        role=role.value,
    )
