"""What waits for a decision: the TSO's review queue (PODs to pre-validate, UVAMs to qualify)
and the DSO's PODs awaiting analysis in its grid."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, SessionDep
from connector.org import Role
from connector.routes import pods as pod_api
from connector.routes import uvams as uvam_api
from connector.schemas import registry as s
from connector.web.session import PageUser
from connector.web.templating import render

router = APIRouter(prefix="/ui")
QUEUE = 200


@router.get("/review", response_class=HTMLResponse)
async def review(
    request: Request, user: PageUser, connector: ConnectorDep, session: SessionDep
) -> HTMLResponse:
    role = connector.org.me.role
    pod_status = {Role.TSO: s.PodStatus.UnderReview, Role.DSO: s.PodStatus.PreValidated}.get(role)
    pods = uvams = None
    if pod_status is not None:
        pods = await pod_api.list_pods(
            user=user,
            connector=connector,
            session=session,
            status=pod_status,
            q=None,
            channel=None,
            limit=QUEUE,
            cursor=None,
        )
    if role is Role.TSO:
        uvams = await uvam_api.list_uvams(
            user=user,
            connector=connector,
            session=session,
            status=s.UvamStatus.UnderReview,
            q=None,
            channel=None,
            limit=QUEUE,
            cursor=None,
        )
    return render(
        request,
        "review.html",
        user,
        "review",
        role=role.value,
        pods=pods,
        uvams=uvams,
        owners={p.eic: p.name for p in connector.org.parties},
    )
