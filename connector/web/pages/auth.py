"""Log-in and log-out pages (seed figure 15). The log-in is the API's own (`POST /auth/token`,
the same password check and the same signed token), kept in an HttpOnly, SameSite cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from connector.deps import SESSION_COOKIE, ConnectorDep
from connector.errors import ApiError
from connector.routes.auth import log_in
from connector.web.session import check_csrf, safe_back
from connector.web.templating import render

router = APIRouter(prefix="/ui")


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    expired: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "login.html",
        None,
        back=safe_back(next),
        expired=expired,
        problem=None,
        username="",
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    connector: ConnectorDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    back = safe_back(next)
    try:
        token = await log_in(
            OAuth2PasswordRequestForm(username=username, password=password), connector
        )
    except ApiError as exc:  # a wrong password (401), or too many of them (429)
        return render(
            request,
            "login.html",
            None,
            status_code=exc.status,
            back=back,
            expired=False,
            problem=exc.message,
            username=username,
        )
    reply = RedirectResponse(back, status_code=303)
    reply.set_cookie(
        SESSION_COOKIE,
        token.access_token,
        max_age=connector.settings.token_minutes * 60,
        httponly=True,
        samesite="strict",
        path="/",
    )
    return reply


@router.post("/logout", dependencies=[Depends(check_csrf)])
async def logout() -> Response:
    reply = RedirectResponse("/ui/login", status_code=303)
    reply.delete_cookie(SESSION_COOKIE, path="/")
    return reply
