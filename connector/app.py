"""`create_app(settings)`: one organisation's connector as a FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response

from connector import errors
from connector.routes import (
    auth,
    health,
    live,
    loads,
    operations,
    participants,
    parts,
    pods,
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
asynchronous. A write is checked and accepted at once (`202` with an operation); its ledger
transaction runs behind it, and `GET /operations/{id}` follows it to `committed` (with its
transaction id and block) or `failed` (with the ledger's reason). Send `Prefer: wait=10` to
wait for the outcome instead. Log in with `POST /auth/token` (OAuth2 password flow).
"""


def create_app(settings: ConnectorSettings, connector: Connector | None = None) -> FastAPI:
    runtime = connector or Connector(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
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

    @app.middleware("http")
    async def refuse_hidden_characters(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        target = request.url.path + "?" + (request.url.query and unquote(request.url.query))
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
            error = errors.InvalidInput("the URL contains control characters")
            return Response(
                error.body().model_dump_json(), status_code=422, media_type="application/json"
            )
        return await call_next(request)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY:
            error = errors.TooLarge(
                f"the request body is {int(length) / 1024 / 1024:.1f} MB; at most 8 MB"
            )
            return Response(
                error.body().model_dump_json(), status_code=413, media_type="application/json"
            )
        return await call_next(request)

    for module in (
        health,
        auth,
        pods,
        uvams,
        parts,
        operations,
        loads,
        participants,
        live,
        webhook,
    ):
        app.include_router(module.router)
    return app
