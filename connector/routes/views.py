"""Turning mirror rows into API bodies, and the slice of the mirror each role may see."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from connector.errors import Conflict, Forbidden, NotFound
from connector.org import OrgContext, Role
from connector.schemas.common import ResourceKind, ResourceOut
from connector.store import resources
from connector.store.tables import Resource, as_utc


def resource_out(r: Resource) -> ResourceOut:
    return ResourceOut(
        kind=ResourceKind(r.kind),
        id=r.id,
        channel=r.channel,
        status=r.status,
        name=r.name,
        ownerEic=r.owner_eic,
        dsoEic=r.dso_eic,
        parentId=r.parent_id,
        record=r.data,
        lastTxId=r.last_tx_id,
        updatedAt=as_utc(r.updated_at),
    )


def scope(org: OrgContext, kind: str) -> dict[str, str]:
    """The filter that keeps a list to what this organisation may see."""
    me = org.me
    if me.role is Role.BSP and kind != "participant":
        return {"owner_eic": me.eic}
    if me.role is Role.DSO and kind in ("pod", "device", "attachment"):
        return {"dso_eic": me.eic}
    return {}


def visible(org: OrgContext, r: Resource) -> bool:
    return all(getattr(r, k) in (v, None) for k, v in scope(org, r.kind).items())


async def one(
    session: AsyncSession, org: OrgContext, kind: str, rid: str, channel: str | None
) -> Resource:
    """The resource as this organisation may see it: 404 unknown, 403 someone else's."""
    copies = await resources.get(session, kind, rid, channel)
    label = {"pod": "POD", "uvam": "UVAM", "device": "flex device"}.get(kind, kind)
    if not copies:
        raise NotFound(f"{label} {rid} is not known to this connector")
    if len(copies) > 1:
        raise Conflict(
            f"{label} {rid} is on several channels ({', '.join(c.channel for c in copies)}); "
            "say which with ?channel=",
            code="AmbiguousChannel",
        )
    found = copies[0]
    if not visible(org, found):
        raise Forbidden(f"{label} {rid} is not {org.me.name}'s to see")
    return found
