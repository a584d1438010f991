"""Users of a connector, and the demo log-ins a fresh sandbox gets."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connector.auth import hash_password, private_file
from connector.permissions import Access, fabric_user
from connector.store.tables import User


async def get(session: AsyncSession, username: str) -> User | None:
    return await session.get(User, username)


async def all_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.username))).scalars().all())


async def add(
    session: AsyncSession, username: str, password: str, access: Access, display_name: str
) -> User:
    user = User(
        username=username,
        password_hash=hash_password(password),
        display_name=display_name,
        access=access.value,
        fabric_user=fabric_user(access),
    )
    session.add(user)
    return user


def demo_accesses(role: str) -> list[Access]:
    if role == "AUDITOR":
        return [Access.viewer]
    out = [Access.operator, Access.viewer]
    if role == "TSO":
        out.append(Access.admin)
    return out


async def ensure_demo_users(
    session: AsyncSession, org_key: str, org_name: str, role: str, folder: Path
) -> dict[str, str]:
    """Create `<org>-operator`, `<org>-viewer` (and `tso-admin`) once, with random passwords
    written to an owner-only file beside the database; later starts change nothing."""
    logins_file = folder / "demo-logins.json"
    if await session.scalar(select(User.username).limit(1)) is not None:
        return json.loads(logins_file.read_text()) if logins_file.exists() else {}
    logins: dict[str, str] = {}
    for access in demo_accesses(role):
        username = f"{org_key}-{access.value}"
        password = secrets.token_urlsafe(12)
        await add(session, username, password, access, f"{org_name} ({access.value})")
        logins[username] = password
    private_file(logins_file, json.dumps(logins, indent=2).encode())
    return logins
