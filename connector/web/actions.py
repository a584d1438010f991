"""What a page does with a write: the API's own route, waited on, and the answer for a browser.

A page never rebuilds a write: it calls the API's route function with the same checked body,
the same user and `Prefer: wait`, so the connector's checks, the operation and the ledger's
verdict are the API's. The browser then goes back to the resource's page (post, redirect, get),
which shows the operation's outcome: committed in block N, or the ledger's reason for refusing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from connector.errors import ApiError
from connector.schemas.common import OperationOut
from connector.store import operations

# single actions wait for the ledger's outcome; a slower one goes on and shows up live
WAIT = "wait=10"

# renders the page again with a refusal the connector made before any operation existed
Refusal = Callable[[ApiError], Awaitable[Response]]


def new_key() -> str:
    """An idempotency key for one rendering of a form: a double submit is one operation."""
    return uuid.uuid4().hex


def idempotency_key(form: Any) -> str | None:
    key = str(form.get("_key") or "")
    return key[:128] if key else None


def after(url: str, op_id: str | None) -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}op={op_id}" if op_id else url, status_code=303)


async def perform(
    connector: Any,
    call: Callable[[Response, str], Awaitable[OperationOut]],
    back: str,
    on_refusal: Refusal,
    landing: Callable[[OperationOut], str] | None = None,
) -> Response:
    """Run an API write and answer the browser. A refusal that left an operation (the ledger's)
    goes back to the page with that operation; one refused before any operation (the
    connector's own checks) is rendered by `on_refusal`."""
    try:
        op = await call(Response(), WAIT)
    except ApiError as exc:
        if exc.operation_id:
            return after(back, exc.operation_id)
        return await on_refusal(exc)
    if op.blockNumber is not None:
        await synced_to(connector, op.channel, op.blockNumber)
    return after(landing(op) if landing else back, op.id)


async def synced_to(connector: Any, channel: str, block: int, seconds: float = 3.0) -> None:
    """Wait (a little) until the event sync has applied `block`, so that the page the user
    is sent to reads the mirror with the write's effects (a POD opened by its attachment)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        applied = connector.sync.state.get(channel, {}).get("block")
        if applied is not None and applied >= block:
            return
        await asyncio.sleep(0.05)


async def banner(request: Request, op_ids: str | None) -> list[OperationOut]:
    """The operations a page was sent back with (`?op=a,b`), as the API reports them."""
    if not op_ids:
        return []
    connector = request.app.state.connector
    out = []
    async with connector.db.session() as session:
        for op_id in op_ids.split(",")[:20]:
            op = await operations.get(session, op_id[:32])
            if op is not None:
                out.append(connector.runner.present(op))
    return out
