"""Measurements: ESMP series uploaded here and kept here; their hash and energy per step
anchored on the ledger (the BSP: its UVAM's aggregate and devices; the DSO: the UVAM's PODs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from connector import esmp
from connector.deps import ConnectorDep, Reader, SessionDep
from connector.errors import Conflict, NotFound, responses
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.market_common import Channel, Cursor, IdemKey, Limit, Period, Prefer, listed
from connector.routes.views import one, resource_out
from connector.schemas import market as s
from connector.schemas.common import OperationOut, Page, ResourceOut
from connector.store import series_files

router = APIRouter(prefix="/market/measurements", tags=["Market: measurements"])
READ = responses(401, 403, 404, 409)


@router.get("", response_model=Page[ResourceOut], responses=responses(401, 422))
async def list_series(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    period: Period = None,
    q: Annotated[str | None, Query(max_length=64, description="in id or resource")] = None,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Series anchors this organisation may see, newest first."""
    return await listed(
        session,
        connector.org,
        "series",
        channel=channel,
        period=period,
        status=None,
        limit=limit,
        cursor=cursor,
        search=q,
    )


@router.get("/{series_id}", response_model=ResourceOut, responses=READ)
async def get_series(
    series_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> ResourceOut:
    """The anchor: SHA-256, size, resolution, interval and energy per 15-minute step."""
    return resource_out(await one(session, connector.org, "series", series_id, channel))


@router.get(
    "/{series_id}/series",
    responses={
        200: {
            "content": {"application/json": {}},
            "description": "the ESMP series in its canonical form, its SHA-256 the ledger's",
        },
        **responses(401, 403, 404, 409),
    },
    response_class=Response,
)
async def export_series(
    series_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> Response:
    """Export the series as this connector holds it, after checking its SHA-256 against the
    anchor; importing these bytes again gives the same series and hash."""
    anchor = await one(session, connector.org, "series", series_id, channel)
    digest = str(anchor.data.get("sha256"))
    stored = await series_files.get(session, digest)
    if stored is None:
        raise NotFound(
            f"series {series_id}: this connector does not hold its data (it was uploaded "
            "through another organisation's connector; ask its uploader)"
        )
    if esmp.sha256(stored.content) != digest:
        raise Conflict(
            f"series {series_id}: the stored series does not match the ledger's SHA-256; it "
            "was altered after upload",
            code="HashMismatch",
        )
    return Response(
        stored.content,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{series_id}.json"',
            "X-Content-SHA256": digest,
        },
    )


@router.post("", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def upload(
    body: s.MeasurementUpload,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Upload Measurements: an ESMP series, checked (known resolution, no gaps, the hash if
    given), kept by this connector, anchored on the ledger. The operation's resourceId is the
    series' id on the ledger."""
    user.require(Action.meter if body.scope is s.SeriesScope.pod else Action.bid)
    if body.scope is s.SeriesScope.pod:
        where = await connector.registry.locate(session, "pod", body.resource or "", channel)
    else:
        where = await connector.registry.locate(session, "uvam", body.resourceGroupId, channel)
    connector.registry.require_mine(where)
    if body.activationId is not None:  # uploaded for an activation: one this org may see
        activation = await one(
            session, connector.org, "activation", body.activationId, where.channel
        )
        if activation.data.get("resourceGroupId") != body.resourceGroupId:
            raise Conflict(
                f"activation {body.activationId} is of UVAM "
                f"{activation.data.get('resourceGroupId')}, not {body.resourceGroupId}",
                code="InvalidArgument",
            )
    write = connector.market.upload(body, where.channel)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)
