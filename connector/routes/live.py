"""Live updates as Server-Sent Events: operations and ledger changes as they happen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

from fastapi import APIRouter
from fastapi.sse import EventSourceResponse, ServerSentEvent

from connector.deps import ConnectorDep, Reader
from connector.errors import responses

router = APIRouter(tags=["Live updates"])

_KEEPALIVE = 15.0


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "`operation`, `resource` and `resync` events, JSON data"},
        **responses(401),
    },
)
async def events(user: Reader, connector: ConnectorDep) -> AsyncIterable[ServerSentEvent]:
    """A stream of what changes: `operation` (an operation moved on), `resource` (the ledger
    changed a record this organisation sees: a TSO or DSO decision, say), `resync` (updates
    were dropped for a slow reader: reload)."""
    stream = connector.bus.subscribe()
    yield ServerSentEvent(comment="connected", retry=2000)
    while True:
        try:
            notice = await asyncio.wait_for(anext(stream), _KEEPALIVE)
        except TimeoutError:
            yield ServerSentEvent(comment="keep-alive")
            continue
        yield ServerSentEvent(event=notice.event, id=str(notice.id), data=notice.data)
