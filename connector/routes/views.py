"""Turning mirror rows into API bodies, and the slice of the mirror each role may see."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from connector.errors import Conflict, Forbidden, NotFound
from connector.feeds import feed_of
from connector.org import OrgContext, Role
from connector.runtime import Connector
from connector.schemas.common import HistoryEntry, ResourceKind, ResourceOut
from connector.services import history
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
    if me.role is Role.BSP and kind not in ("participant", "marketperiod"):
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
    label = {
        "pod": "POD",
        "uvam": "UVAM",
        "device": "flex device",
        "ev": "EV",
        "marketperiod": "market period",
    }.get(kind, kind)
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


async def ledger_history(
    request: Request, connector: Connector, fabric_user: str, resource: Resource, query: str
) -> list[HistoryEntry]:
    """Every committed version of a registry record, oldest first: the registry's history
    query, or, for an auditor (whom the channels let read blocks but not query chaincode), the
    same versions walked from the blocks themselves."""
    if connector.org.me.role is not Role.AUDITOR:
        entries = await connector.ledger.evaluate(fabric_user, resource.channel, query, resource.id)
        return [HistoryEntry.model_validate(e) for e in entries or []]
    feed = feed_of(connector.org.chaincode)
    found = await history.timeline(request.app.state.explorer, fabric_user, feed, resource)
    return [
        HistoryEntry(
            txId=v.tx_id,
            timestamp=v.timestamp,
            isDelete=v.value is None,
            actor=v.actor,
            value=v.value,
        )
        for v in found.versions
    ]
