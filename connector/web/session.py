"""Who is looking at a page: the log-in cookie, the return to log-in when it expires, CSRF.

A page's user is found exactly as the API finds it (`deps.current_user`, which reads the same
signed token from the `cbp_session` cookie) and may do exactly what the API lets it do
(`Principal.require`). What differs is only what a browser needs: an expired or missing
session sends the user to the log-in page and, once logged in, back to where they were; a form
carries a token derived from the session, so another site cannot post as the user.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from connector.auth import token_key
from connector.deps import SESSION_COOKIE, ConnectorDep, Principal, current_user
from connector.errors import Forbidden, Unauthenticated
from connector.permissions import Action

LIVE_HEADER = "x-cbp-live"  # set by the page script when it refreshes a part of a page


class LoginRequired(Exception):
    """No valid session: the page answers with the log-in page (and the way back)."""

    def __init__(self, back: str, reason: str) -> None:
        super().__init__(reason)
        self.back = back
        self.reason = reason


def safe_back(target: str | None) -> str:
    """A page of this dashboard to return to; anything else (another site) becomes home."""
    if not target:
        return "/ui/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui"):
        return "/ui/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_url(back: str, expired: bool = False) -> str:
    url = f"/ui/login?next={quote(safe_back(back), safe='')}"
    return url + "&expired=1" if expired else url


def _back_of(request: Request) -> str:
    """The page the user was on: this page for a GET, the page that posted for a POST."""
    if request.method == "GET" and LIVE_HEADER not in request.headers:
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/ui/"
    return safe_back(parts.path + (f"?{parts.query}" if parts.query else ""))


def csrf_key(folder: Any) -> bytes:
    return hashlib.sha256(b"cbp-dashboard-csrf\x00" + token_key(folder)).digest()


def csrf_token(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE, "")
    key: bytes = request.app.state.csrf_key
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:40]


async def page_user(request: Request, connector: ConnectorDep) -> Principal:
    try:
        return await current_user(request, connector, None)
    except Unauthenticated as exc:
        had_session = SESSION_COOKIE in request.cookies
        raise LoginRequired(_back_of(request), exc.message if had_session else "") from None


PageUser = Annotated[Principal, Depends(page_user)]


def page_requires(action: Action) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """The API's permission check (`Principal.require`), for a page."""

    async def check(user: PageUser) -> Principal:
        user.require(action)
        return user

    return check


async def check_csrf(request: Request) -> None:
    """Every form post carries the session's token (a hidden field or a header)."""
    form = await request.form()
    given = str(form.get("_csrf") or request.headers.get("x-csrf-token") or "")
    if not given or not hmac.compare_digest(given, csrf_token(request)):
        raise Forbidden(
            "this form is out of date or came from another site; reload the page and try again",
            code="CsrfRejected",
        )
