"""An activation's page: the set point, the BSP's acknowledgement, the measurement series
uploaded for it (the BSP's aggregate and devices, the DSO's PODs: kept by the uploader's
connector, anchored on the ledger), the TSO's verification and its result; and a settlement
statement's page, which only its BSP and the TSO may read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput, validation_fields
from connector.org import Role
from connector.permissions import Action
from connector.routes import market_activations as activation_api
from connector.routes import market_measurements as series_api
from connector.routes import market_statements as statement_api
from connector.routes import uvams as uvam_api
from connector.routes.uploads import read_upload
from connector.schemas import market as s
from connector.schemas.common import ResourceOut
from connector.store import resources
from connector.web.actions import Refusal, banner, idempotency_key, new_key, perform
from connector.web.pages.market import ChannelQ, OpQ, here, parties
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui")
Bidder = Annotated[Principal, Depends(page_requires(Action.bid))]
Dispatcher = Annotated[Principal, Depends(page_requires(Action.dispatch))]
Csrf = Depends(check_csrf)
MAX_SERIES = 8 * 1024 * 1024  # the connector's largest request body


async def _resources(
    user: Principal, connector: Any, session: Any, activation: ResourceOut
) -> list[tuple[str, str]]:
    """What this user may upload a series of for the activation: the BSP its UVAM's aggregate
    and devices, the DSO the UVAM's PODs in its grid."""
    record = activation.record
    role = connector.org.me.role
    if role is Role.DSO and Action.meter in user.actions:
        mine = []
        for pod in record.get("pods") or []:
            if await resources.get(session, "pod", str(pod), activation.channel):
                mine.append((str(pod), f"POD {pod}"))
        return mine
    if role is not Role.BSP or Action.bid not in user.actions:
        return []
    uvam_id = str(record.get("resourceGroupId"))
    uvam = await uvam_api.get_uvam(
        uvam_id=uvam_id, user=user, connector=connector, session=session, channel=None
    )
    out = [(uvam_id, f"the aggregate of {uvam_id}")]
    for relation in uvam.relations:
        if relation.record.get("status") != "Active":
            continue
        member = str(relation.record.get("resource"))
        if relation.record.get("resourceType") == "POD":
            for device in await resources.children(session, "device", member, uvam.channel):
                out.append((device.id, f"device {device.id}"))
        else:
            out.append((member, f"device {member}"))
    return out


def step_rows(start: str, check: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """Each verified step with the quarter hour it covers (the window's steps in order)."""
    if not check:
        return []
    first = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return [
        (
            f"{(first + i * s.STEP):%H:%M}-{(first + (i + 1) * s.STEP):%H:%M}",
            step,
        )
        for i, step in enumerate(check.get("steps") or [])
    ]


async def activation_page(
    request: Request,
    user: Principal,
    activation_id: str,
    channel: str | None,
    *,
    error: ApiError | None = None,
    op_ids: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    channel = channel or None
    async with connector.db.session() as session:
        activation = await activation_api.get_activation(
            activation_id=activation_id,
            user=user,
            connector=connector,
            session=session,
            channel=channel,
        )
        record = activation.record
        listed = await series_api.list_series(
            user=user,
            connector=connector,
            session=session,
            period=str(record.get("periodId")),
            q=None,
            channel=activation.channel,
            limit=200,
            cursor=None,
        )
        uploadable = await _resources(user, connector, session, activation)
    uvam_id = record.get("resourceGroupId")
    check = record.get("verification")
    series = [a for a in listed.items if a.record.get("resourceGroupId") == uvam_id]
    anchored = {a.record.get("resource") for a in series}
    return render(
        request,
        "market/activation.html",
        user,
        "market",
        status_code=error.status if error else 200,
        activation=activation,
        record=record,
        role=connector.org.me.role.value,
        check=check,
        step_rows=step_rows(str(record.get("start")), check),
        series=series,
        uploadable=[(rid, label) for rid, label in uploadable if rid not in anchored],
        names=parties(connector),
        error=error,
        done=await banner(request, op_ids),
        may_bid=Action.bid in user.actions,
        may_dispatch=Action.dispatch in user.actions,
        key=new_key(),
        live=f"Activation:{activation.id} MeterSeries:* PodSeries:*",
    )


@router.get("/market/activations/{activation_id}", response_class=HTMLResponse)
async def activation_view(
    request: Request,
    activation_id: str,
    user: PageUser,
    channel: ChannelQ = None,
    op: OpQ = None,
) -> HTMLResponse:
    return await activation_page(request, user, activation_id, channel, op_ids=op)


def _refusal(request: Request, user: Principal, activation_id: str, channel: str | None) -> Refusal:
    async def show(exc: ApiError) -> Response:
        return await activation_page(request, user, activation_id, channel, error=exc)

    return show


@router.post("/market/activations/{activation_id}/acknowledgement", dependencies=[Csrf])
async def acknowledge(
    request: Request,
    activation_id: str,
    user: Bidder,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    form = await request.form()
    return await perform(
        connector,
        lambda response, prefer: activation_api.acknowledge(
            activation_id=activation_id,
            body=s.ActivationStatusChange(status="Acknowledged"),
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/activations/{activation_id}", channel),
        _refusal(request, user, activation_id, channel),
    )


@router.post("/market/activations/{activation_id}/verification", dependencies=[Csrf])
async def verify(
    request: Request,
    activation_id: str,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
) -> Response:
    form = await request.form()
    return await perform(
        connector,
        lambda response, prefer: activation_api.verify(
            activation_id=activation_id,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=channel,
        ),
        here(f"/ui/market/activations/{activation_id}", channel),
        _refusal(request, user, activation_id, channel),
    )


@router.post("/market/activations/{activation_id}/measurements", dependencies=[Csrf])
async def upload(
    request: Request,
    activation_id: str,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    resource: Annotated[str, Form(min_length=1, max_length=128)],
    key: Annotated[str | None, Form(alias="_key", max_length=128)] = None,
    channel: ChannelQ = None,
) -> Response:
    """Upload Measurements for this activation's UVAM: the API's route judges the series
    (resolution, gaps, interval), keeps it here and anchors its hash and energy per step."""
    show = _refusal(request, user, activation_id, channel)
    activation = await activation_api.get_activation(
        activation_id=activation_id,
        user=user,
        connector=connector,
        session=session,
        channel=channel or None,
    )
    record = activation.record
    uvam_id = str(record.get("resourceGroupId"))
    try:
        content, name = await read_upload(file, MAX_SERIES, "the series")
        try:
            series = json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidInput(
                f"{name or 'the file'} is not JSON: a measurement series is an ESMP "
                "TimeSeries in JSON, as the connector exports it"
            ) from None
        if not isinstance(series, dict):
            raise InvalidInput(f"{name or 'the file'} is JSON but not an ESMP TimeSeries object")
        role = connector.org.me.role
        scope = (
            s.SeriesScope.pod
            if role is Role.DSO
            else s.SeriesScope.aggregate
            if resource == uvam_id
            else s.SeriesScope.device
        )
        body = s.MeasurementUpload(
            periodId=str(record.get("periodId")),
            resourceGroupId=uvam_id,
            scope=scope,
            resource=resource,
            activationId=activation.id,
            series=series,
        )
    except ApiError as exc:
        return await show(exc)
    except ValidationError as exc:  # the API's model refused a field: its own words
        problems = validation_fields([dict(e) for e in exc.errors()])
        return await show(InvalidInput("; ".join(f"{p.field}: {p.rule}" for p in problems)))
    return await perform(
        connector,
        lambda response, prefer: series_api.upload(
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=key,
            channel=activation.channel,
        ),
        here(f"/ui/market/activations/{activation_id}", channel),
        show,
    )


# -- a statement ------------------------------------------------------------------------------


@router.get("/market/statements/{statement_id}", response_class=HTMLResponse)
async def statement_view(
    request: Request,
    statement_id: str,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    channel: ChannelQ = None,
    op: OpQ = None,
) -> HTMLResponse:
    """A statement's lines and totals: the API refuses anyone but its BSP and the TSO."""
    statement = await statement_api.get_statement(
        statement_id=statement_id,
        user=user,
        connector=connector,
        session=session,
        channel=channel or None,
    )
    return render(
        request,
        "market/statement.html",
        user,
        "market",
        statement=statement,
        record=statement.record,
        detail=statement.statement,
        names=parties(connector),
        done=await banner(request, op),
    )
