"""`create_app(settings)`: one organisation's connector as a FastAPI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from connector import errors, web
from connector.routes import (
    auth,
    exchange,
    health,
    live,
    loads,
    market,
    market_activations,
    market_measurements,
    market_statements,
    operations,
    p2p,
    participants,
    parts,
    pods,
    trades,
    uvams,
    webhook,
)
from connector.runtime import Connector
from connector.settings import ConnectorSettings

# Request bodies beyond this are refused before they are read: an attachment is at most 5 MB,
# which is under 7 MB as base64 in JSON, and a mass-loading file is smaller still.
MAX_BODY = 8 * 1024 * 1024

DESCRIPTION = """
The CBP Connector of one organisation: the 14 CBP API services of POD and UVAM registration,
and the market after it (bidding, activation, measurements and verification, settlement),
and, for the charging infrastructure operator and the EV users, the P2P energy market (`/p2p`),
asynchronous. A write is checked and accepted at once (`202` with an operation); its ledger
transaction runs behind it, and `GET /operations/{id}` follows it to `committed` (with its
transaction id and block) or `failed` (with the ledger's reason). Send `Prefer: wait=10` to
wait for the outcome instead. Log in with `POST /auth/token` (OAuth2 password flow).
"""


class EdgeChecks:
    """What every request is checked for before routing (a plain ASGI middleware: Starlette's
    BaseHTTPMiddleware costs a task per request): no control characters in the URL, and no
    body over the limit by its declared length."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _refusal(scope)
            if refusal is not None:
                status, error = refusal
                body = error.body().model_dump_json().encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> tuple[int, errors.ApiError] | None:
    target = scope["path"] + unquote(scope.get("query_string", b"").decode("latin-1"))
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return 422, errors.InvalidInput("the URL contains control characters")
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
            return 413, errors.TooLarge(
                f"the request body is {int(value) / 1024 / 1024:.1f} MB; at most 8 MB"
            )
    return None


def create_app(settings: ConnectorSettings, connector: Connector | None = None) -> FastAPI:
    runtime = connector or Connector(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        # what start-up made (modules, the app, the ledger client) lives as long as the
        # process: frozen out of the collector, so that a full collection walks only what
        # requests made, a pause of a few milliseconds instead of a hundred
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await runtime.stop()

    me = runtime.org.me
    app = FastAPI(
        title=f"CBP Connector: {me.name} ({me.role})",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.connector = runtime
    errors.install(app)

    app.add_middleware(EdgeChecks)
    for module in (
        health,
        auth,
        pods,
        uvams,
        parts,
        operations,
        loads,
        participants,
        p2p,
        trades,
        market,
        market_activations,
        market_measurements,
        market_statements,
        live,
        webhook,
        exchange,
    ):
        app.include_router(module.router)
    web.mount(app)  # the dashboard's pages, on the routes above
    return app
