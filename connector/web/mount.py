"""Putting the dashboard on a connector app: routes, static files, and the error boundary."""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.deps import current_user
from connector.errors import ApiError, Unauthenticated, from_ledger, validation_fields
from connector.ledger import LedgerError
from connector.services.explorer import Explorer
from connector.web.pages import (
    auth,
    checks,
    explorer,
    history,
    home,
    market,
    market_activations,
    market_offers,
    operations,
    p2p_market,
    p2p_trades,
    pods,
    queues,
)
from connector.web.pages import uvams as uvam_pages
from connector.web.session import LIVE_HEADER, LoginRequired, csrf_key, login_url
from connector.web.templating import HERE, render
from connector.web.timing import ServerTiming

log = logging.getLogger(__name__)

_HEADINGS = {
    401: "Log in first",
    403: "Not allowed",
    404: "Not found",
    409: "Refused",
    413: "Too large",
    415: "Wrong kind of file",
    422: "Check the values",
    429: "Too many attempts",
    503: "The ledger cannot be reached",
    504: "The ledger did not answer in time",
}


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/ui") and not path.startswith(("/ui/static", "/ui/check"))


async def _user_or_none(request: Request) -> Any:
    try:
        return await current_user(request, request.app.state.connector, None)
    except Unauthenticated:
        return None


async def _page(
    request: Request, status: int, message: str, fields: list[Any] | None = None
) -> Response:
    user = await _user_or_none(request)
    return render(
        request,
        "error.html",
        user,
        status_code=status,
        heading=_HEADINGS.get(status, "Something went wrong"),
        message=message,
        fields=fields or [],
    )


def _login(request: Request, exc: LoginRequired) -> Response:
    target = login_url(exc.back, expired=bool(exc.reason))
    if LIVE_HEADER in request.headers or not _is_page(request):
        return JSONResponse(
            {"error": {"status": 401, "code": "Unauthenticated", "message": exc.reason}},
            status_code=401,
            headers={"X-CBP-Login": target},
        )
    return RedirectResponse(target, status_code=303)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """The API's own handler, for what is not a page."""
    result = handler(request, exc)
    reply: Response = await result if inspect.isawaitable(result) else result
    return reply


def mount(app: FastAPI) -> None:
    connector = app.state.connector
    app.state.csrf_key = csrf_key(connector.settings.folder)
    app.state.explorer = Explorer(connector.org, connector.ledger)
    app.add_middleware(ServerTiming)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    for module in (
        auth,
        home,
        pods,
        checks,
        uvam_pages,
        queues,
        operations,
        explorer,
        history,
        market,
        p2p_market,
        p2p_trades,
        market_offers,
        market_activations,
    ):
        app.include_router(module.router, include_in_schema=False)

    api_error = app.exception_handlers[ApiError]
    invalid = app.exception_handlers[RequestValidationError]
    http_error = app.exception_handlers[StarletteHTTPException]
    bug = app.exception_handlers[Exception]
    ledger_error = app.exception_handlers[LedgerError]

    async def on_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return _login(request, exc)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(api_error, request, exc)
        assert isinstance(exc, ApiError)
        return await _page(request, exc.status, exc.message, exc.fields)

    async def on_ledger(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(ledger_error, request, exc)
        assert isinstance(exc, LedgerError)
        error = from_ledger(exc)
        return await _page(request, error.status, error.message)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(invalid, request, exc)
        assert isinstance(exc, RequestValidationError)
        fields = validation_fields(list(exc.errors()))
        return await _page(request, 422, "the address of this page is not valid", fields)

    async def on_http(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(http_error, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        message = "there is no such page" if exc.status_code == 404 else str(exc.detail)
        return await _page(request, exc.status_code, message)

    async def on_bug(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(bug, request, exc)
        reference = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error on page %s, reference %s", request.url.path, reference, exc_info=exc
        )
        return await _page(request, 500, f"an unexpected error occurred; reference {reference}")

    app.add_exception_handler(LoginRequired, on_login)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(LedgerError, on_ledger)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_bug)
