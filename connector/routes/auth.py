"""Log-in (OAuth2 password flow) and who the logged-in user is."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from connector.auth import burn_time, verify_password
from connector.deps import ConnectorDep, UserDep
from connector.errors import TooManyAttempts, Unauthenticated, responses
from connector.store import users

router = APIRouter(tags=["Log-in"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    username: str
    access: str


class MeOut(BaseModel):
    username: str
    displayName: str
    access: str
    organisation: str
    organisationName: str
    role: str
    eic: str
    mspId: str
    fabricUser: str
    may: list[str]


def _plausible(username: str) -> bool:
    """A name that could be a user's: never sent to the database otherwise (PostgreSQL refuses
    NUL characters outright)."""
    return 0 < len(username) <= 64 and username.isprintable()


@router.post("/auth/token", response_model=TokenOut, responses=responses(401, 422, 429))
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], connector: ConnectorDep
) -> TokenOut:
    """OAuth2 password flow: a signed token that expires (Authorization: Bearer <token>).
    Five wrong passwords for a name within five minutes lock it for the rest of them (429)."""
    wait = connector.throttle.wait(form.username)
    if wait > 0:
        raise TooManyAttempts(
            f"too many failed log-ins for this user name; try again in {wait:.0f} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    if not _plausible(form.username):
        await anyio.to_thread.run_sync(burn_time, form.password)
        raise Unauthenticated("wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    async with connector.db.reading() as session:
        user = await users.get(session, form.username)
    # a password hash costs tens of milliseconds of CPU: off the event loop, so that a log-in
    # does not hold up every other request
    if user is None:
        await anyio.to_thread.run_sync(burn_time, form.password)
    if (
        user is None
        or user.disabled
        or not await anyio.to_thread.run_sync(verify_password, form.password, user.password_hash)
    ):
        connector.throttle.failed(form.username)
        raise Unauthenticated("wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    connector.throttle.succeeded(form.username)
    token, expires = connector.tokens.issue(user.username, user.access)
    return TokenOut(
        access_token=token, expires_at=expires, username=user.username, access=user.access
    )


@router.get("/auth/me", response_model=MeOut, responses=responses(401))
async def me(user: UserDep, connector: ConnectorDep) -> MeOut:
    org = connector.org.me
    return MeOut(
        username=user.username,
        displayName=user.display_name,
        access=user.access.value,
        organisation=org.key,
        organisationName=org.name,
        role=org.role.value,
        eic=org.eic,
        mspId=org.msp_id,
        fabricUser=user.fabric_user,
        may=sorted(a.name for a in user.actions),
    )
