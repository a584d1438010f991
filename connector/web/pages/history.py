"""A resource's history as a timeline (value, actor, time, transaction, block) and the changes
between any two of its versions, read from the blocks (`services.history`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, SessionDep
from connector.errors import InvalidInput
from connector.feeds import feed_of
from connector.routes.views import one
from connector.schemas.common import ResourceKind
from connector.services.history import diff, timeline
from connector.web.session import PageUser
from connector.web.templating import render

router = APIRouter(prefix="/ui/history")
_LABELS = {
    "pod": "POD",
    "device": "Flex device",
    "attachment": "Attachment",
    "uvam": "UVAM",
    "relation": "Relation",
    "connection": "Connection of UVAM",
    "participant": "Participant",
    "trade": "Trade",
    "ev": "EV",
    "batch": "Batch",
}


# the menu entry a history belongs under
_SECTIONS = {
    "pod": "pods",
    "device": "pods",
    "attachment": "pods",
    "trade": "trades",
    "batch": "trades",
    "ev": "evs",
}


@router.get("/{kind}/{resource_id}", response_class=HTMLResponse)
async def history(
    request: Request,
    kind: ResourceKind,
    resource_id: Annotated[str, Path(max_length=160)],
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    a: Annotated[int | None, Query(ge=1, description="compare version a ...")] = None,
    b: Annotated[int | None, Query(ge=1, description="... with version b")] = None,
) -> HTMLResponse:
    # the same visibility as the API's reads: 404 unknown, 403 another's
    resource = await one(session, connector.org, kind.value, resource_id, channel)
    feed = feed_of(connector.org.chaincode)
    if kind.value not in feed.object_types:
        raise InvalidInput(f"{_LABELS.get(kind.value, kind.value)} records have no history")
    line = await timeline(request.app.state.explorer, user.fabric_user, feed, resource)
    versions = list(line.versions)
    steps = [diff(versions[i - 1].value if i else None, v.value) for i, v in enumerate(versions)]
    compared = None
    if a is not None or b is not None:
        first, second = a or 1, b or len(versions)
        if not (1 <= first <= len(versions) and 1 <= second <= len(versions)):
            raise InvalidInput(f"versions run from 1 to {len(versions)}")
        compared = (
            versions[first - 1],
            versions[second - 1],
            diff(versions[first - 1].value, versions[second - 1].value),
        )
    return render(
        request,
        "history.html",
        user,
        _SECTIONS.get(kind.value, "uvams"),
        kind=kind.value,
        label=_LABELS[kind.value],
        resource=resource,
        timeline=line,
        rows=list(zip(versions, steps, strict=True))[::-1],
        compared=compared,
        count=len(versions),
        parties={p.msp_id: p.name for p in connector.org.parties},
    )
