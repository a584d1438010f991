"""FastAPI dependencies: the connector, the logged-in user, and what that user may do."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from connector.auth import TokenRejected
from connector.errors import Forbidden, Unauthenticated
from connector.permissions import Access, Action, allowed
from connector.runtime import Connector
from connector.services.accept import Caller
from connector.store import users
from connector.store.tables import User

SESSION_COOKIE = "cbp_session"
_bearer = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)


async def get_connector(request: Request) -> Connector:
    connector: Connector = request.app.state.connector
    return connector


ConnectorDep = Annotated[Connector, Depends(get_connector)]


async def get_session(connector: ConnectorDep) -> AsyncIterator[AsyncSession]:
    """A read-only session for the request (writes go through the services)."""
    async with connector.db.reading() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    username: str
    display_name: str
    access: Access
    fabric_user: str
    actions: frozenset[Action]

    @property
    def caller(self) -> Caller:
        return Caller(self.username, self.access.value, self.fabric_user)

    def require(self, action: Action) -> None:
        if action not in self.actions:
            raise Forbidden(f"user {self.username} ({self.access.value}) may not {action.value}")


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_user(
    request: Request,
    connector: ConnectorDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated(
            "log in first: POST /auth/token, then send 'Authorization: Bearer <token>'",
            headers=_CHALLENGE,
        )
    try:
        claims = connector.tokens.check(token)
    except TokenRejected as exc:
        raise Unauthenticated(str(exc), headers=_CHALLENGE) from None
    user = await _user(connector, claims.username)
    if user is None or user.disabled:
        raise Unauthenticated("this user no longer exists or is disabled", headers=_CHALLENGE)
    access = Access(user.access)
    return Principal(
        user.username,
        user.display_name,
        access,
        user.fabric_user,
        allowed(connector.org.me.role, access),
    )


UserDep = Annotated[Principal, Depends(current_user)]

# A user row is read once per few seconds, not on every request; a disabled user is refused
# within that time.
_USER_TTL = 5.0


async def _user(connector: Connector, username: str) -> User | None:
    cached = connector.user_cache.get(username)
    if cached is not None and time.monotonic() - cached[0] < _USER_TTL:
        return cached[1]
    async with connector.db.reading() as session:
        user = await users.get(session, username)
    connector.user_cache[username] = (time.monotonic(), user)
    return user


def requires(action: Action) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def check(user: UserDep) -> Principal:
        user.require(action)
        return user

    return check


Reader = Annotated[Principal, Depends(requires(Action.read))]
