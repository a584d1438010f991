"""Resource groups (seed figures 23-26): the UVAM list, the registration form, a UVAM's page
with its members, attachments, connection, qualification and end of relations."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput
from connector.org import Role
from connector.permissions import Action
from connector.routes import parts
from connector.routes import uvams as api
from connector.routes.uploads import read_upload
from connector.routes.views import resource_out
from connector.schemas import registry as s
from connector.schemas.common import OperationOut, ResourceOut, UvamDetail
from connector.store import operations, resources
from connector.web import edits, forms
from connector.web.actions import (
    WAIT,
    Refusal,
    after,
    banner,
    idempotency_key,
    new_key,
    perform,
    synced_to,
)
from connector.web.lists import listing
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui")
Registrar = Annotated[Principal, Depends(page_requires(Action.register))]
Csrf = Depends(check_csrf)
MEMBER_STATES = ("PreValidated", "Validated")  # PODs a UVAM may take in (the registry's rule)


@router.get("/uvams", response_class=HTMLResponse)
async def uvam_list(
    request: Request,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    status: s.UvamStatus | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    back: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    page = await api.list_uvams(
        user=user,
        connector=connector,
        session=session,
        status=status,
        q=q or None,
        channel=None,
        limit=50,
        cursor=cursor,
    )
    return render(
        request,
        "uvams/list.html",
        user,
        "uvams",
        page=page,
        paging=listing(request, page, cursor, back),
        statuses=[m.value for m in s.UvamStatus],
        status=status.value if status else "",
        q=q or "",
    )


def _new_form(
    request: Request,
    user: Principal,
    outcome: forms.Outcome | None = None,
    error: ApiError | None = None,
) -> HTMLResponse:
    return render(
        request,
        "uvams/new.html",
        user,
        "uvams",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        sections=forms.UVAM_SECTIONS,
        values=outcome.values if outcome else {},
        errors=outcome.errors if outcome else {},
        form_errors=(outcome.form_errors if outcome else []) + ([error.message] if error else []),
        key=new_key(),
    )


@router.get("/uvams/new", response_class=HTMLResponse)
async def uvam_new(request: Request, user: Registrar) -> HTMLResponse:
    return _new_form(request, user)


@router.post("/uvams/new", response_class=HTMLResponse, dependencies=[Csrf])
async def uvam_create(request: Request, user: Registrar, connector: ConnectorDep) -> Response:
    form = await request.form()
    outcome = forms.parse(
        s.UvamCreate, forms.values_of(form), forms.field_names(forms.UVAM_SECTIONS)
    )
    if not outcome.ok:
        return _new_form(request, user, outcome)
    body = outcome.body
    assert isinstance(body, s.UvamCreate)

    async def refused(exc: ApiError) -> Response:
        return _new_form(request, user, outcome, exc)

    return await perform(
        connector,
        lambda response, prefer: api.register_uvam(
            body=body,
            user=user,
            connector=connector,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        "/ui/uvams",
        refused,
        landing=lambda op: f"/ui/uvams/{op.resourceId}",
    )


async def _candidates(request: Request, uvam: UvamDetail) -> list[ResourceOut]:
    """This BSP's PODs that may join (pre-validated or validated) and their flex devices,
    leaving out what is already an active member."""
    connector = request.app.state.connector
    taken = {r.record.get("resource") for r in uvam.relations if r.record.get("status") != "Ended"}
    out: list[ResourceOut] = []
    async with connector.db.session() as session:
        for status in MEMBER_STATES:
            filters = resources.Filters(
                kind="pod", channel=uvam.channel, status=status, owner_eic=connector.org.me.eic
            )
            pods, _, _ = await resources.page(session, filters, 100, None)
            for pod in pods:
                if pod.id not in taken:
                    out.append(resource_out(pod))
                for device in await resources.children(session, "device", pod.id, pod.channel):
                    if device.id not in taken:
                        out.append(resource_out(device))
    return out


async def uvam_page(
    request: Request,
    user: Principal,
    uvam_id: str,
    error: ApiError | None = None,
    op_ids: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.session() as session:
        detail: UvamDetail = await api.get_uvam(
            uvam_id=uvam_id, user=user, connector=connector, session=session, channel=None
        )
    role = connector.org.me.role
    may_register = Action.register in user.actions
    editable = detail.status in ("Registered", "Open")
    live = " ".join(
        [f"UVAM:{detail.id}", "Relation:*", "Attachment:*", "Connection:*"]
        + [f"op:{o.id}" for o in detail.pendingOperations]
    )
    return render(
        request,
        "uvams/detail.html",
        user,
        "uvams",
        status_code=error.status if error else 200,
        uvam=detail,
        record=detail.record,
        role=role.value,
        error=error,
        done=await banner(request, op_ids),
        live=live,
        candidates=await _candidates(request, detail) if may_register and editable else [],
        connection_sections=forms.CONNECTION_SECTIONS,
        key=new_key(),
        may_register=may_register,
        editable=editable,
        may_review=Action.review in user.actions and role is Role.TSO,
        upload_action=f"/ui/uvams/{detail.id}/attachments",
        upload_closed=bool(detail.attachments),
    )


def _edit(uvam_id: str) -> edits.EditForm:
    return edits.EditForm(
        model=s.UvamUpdate,
        sections=edits.sections_for(s.UvamUpdate, forms.UVAM_SECTIONS),
        section="uvams",
        noun="UVAM",
        entity_id=uvam_id,
        back=f"/ui/uvams/{uvam_id}",
        list_href="/ui/uvams",
        list_label="Resource groups (UVAMs)",
        check="uvam-update",
    )


async def _record(request: Request, user: Principal, uvam_id: str) -> dict[str, Any]:
    connector = request.app.state.connector
    async with connector.db.session() as session:
        detail: UvamDetail = await api.get_uvam(
            uvam_id=uvam_id, user=user, connector=connector, session=session, channel=None
        )
    return detail.record


@router.get("/uvams/{uvam_id}/edit", response_class=HTMLResponse)
async def uvam_edit(request: Request, uvam_id: str, user: Registrar) -> HTMLResponse:
    return _edit(uvam_id).page(request, user, await _record(request, user, uvam_id))


@router.post("/uvams/{uvam_id}/edit", response_class=HTMLResponse, dependencies=[Csrf])
async def uvam_update(
    request: Request, uvam_id: str, user: Registrar, connector: ConnectorDep, session: SessionDep
) -> Response:
    """Update Resource Group with the fields the user changed (while the UVAM is Open)."""

    async def update(body: Any, response: Response, prefer: str, key: str | None) -> Any:
        return await api.update_uvam(
            uvam_id=uvam_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=key,
            channel=None,
        )

    record = await _record(request, user, uvam_id)
    return await _edit(uvam_id).submit(request, user, connector, record, update)


@router.get("/uvams/{uvam_id}", response_class=HTMLResponse)
async def uvam_view(
    request: Request,
    uvam_id: str,
    user: PageUser,
    op: Annotated[str | None, Query(max_length=700)] = None,
) -> HTMLResponse:
    return await uvam_page(request, user, uvam_id, op_ids=op)


def _refusal(request: Request, user: Principal, uvam_id: str) -> Refusal:
    async def show(exc: ApiError) -> Response:
        return await uvam_page(request, user, uvam_id, error=exc)

    return show


@router.post("/uvams/{uvam_id}/status", dependencies=[Csrf])
async def uvam_decision(
    request: Request, uvam_id: str, user: PageUser, connector: ConnectorDep, session: SessionDep
) -> Response:
    """Send for qualification (the BSP); qualify or reject (the TSO)."""
    form = await request.form()
    outcome = forms.parse(s.UvamStatusChange, forms.values_of(form), {"status", "reason"})
    if not outcome.ok:
        rules = "; ".join(outcome.form_errors or [f"{k}: {v}" for k, v in outcome.errors.items()])
        return await uvam_page(request, user, uvam_id, error=InvalidInput(rules))
    body = outcome.body
    assert isinstance(body, s.UvamStatusChange)
    return await perform(
        connector,
        lambda response, prefer: api.uvam_status(
            uvam_id=uvam_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/uvams/{uvam_id}",
        _refusal(request, user, uvam_id),
    )


@router.post("/uvams/{uvam_id}/members", dependencies=[Csrf])
async def add_members(
    request: Request, uvam_id: str, user: Registrar, connector: ConnectorDep, session: SessionDep
) -> Response:
    """Register Resource in Resource Group for every POD or device ticked, in order."""
    form = await request.form()
    chosen = [str(v) for v in form.getlist("resource")][:100]
    if not chosen:
        return await uvam_page(
            request, user, uvam_id, error=InvalidInput("tick at least one POD or flex device")
        )
    key = idempotency_key(form)
    ops: list[OperationOut] = []
    for resource in chosen:
        try:
            body = s.RelationCreate(resource=resource)
            ops.append(
                await api.add_resource(
                    uvam_id=uvam_id,
                    body=body,
                    user=user,
                    connector=connector,
                    session=session,
                    response=Response(),
                    prefer=None,
                    idempotency_key=f"{key}:{resource}" if key else None,
                    channel=None,
                )
            )
        except (ApiError, ValueError) as exc:
            error = exc if isinstance(exc, ApiError) else InvalidInput(str(exc))
            if not ops:
                return await uvam_page(request, user, uvam_id, error=error)
            break
    # the relations of one UVAM run in order: waiting for the last waits for them all
    await connector.runner.wait(ops[-1].id, float(WAIT.split("=")[1]))
    await _synced(connector, ops[-1].id)
    return after(f"/ui/uvams/{uvam_id}", ",".join(o.id for o in ops))


async def _synced(connector: ConnectorDep, op_id: str) -> None:
    async with connector.db.session() as session:
        op = await operations.get(session, op_id)
    if op is not None and op.block_number is not None:
        await synced_to(connector, op.channel, op.block_number)


@router.post("/uvams/{uvam_id}/attachments", dependencies=[Csrf])
async def uvam_attachment(
    request: Request,
    uvam_id: str,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    documentType: Annotated[str, Form(min_length=1, max_length=256)],
    externalDocumentId: Annotated[str | None, Form(max_length=256)] = None,
    key: Annotated[str | None, Form(alias="_key", max_length=128)] = None,
) -> Response:
    """Create Attachment (UVAM): the file read as the API reads uploads, sent as its body."""
    try:
        content, name = await read_upload(file)
    except ApiError as exc:
        return await uvam_page(request, user, uvam_id, error=exc)
    body = s.AttachmentCreate(
        externalDocumentId=externalDocumentId or name or "document",
        documentType=documentType,
        documentFile=base64.b64encode(content).decode(),
    )
    return await perform(
        connector,
        lambda response, prefer: api.create_uvam_attachment(
            uvam_id=uvam_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=key,
            channel=None,
        ),
        f"/ui/uvams/{uvam_id}",
        _refusal(request, user, uvam_id),
    )


@router.post("/uvams/{uvam_id}/connection", dependencies=[Csrf])
async def uvam_connection(
    request: Request, uvam_id: str, user: Registrar, connector: ConnectorDep, session: SessionDep
) -> Response:
    form = await request.form()
    outcome = forms.parse(
        s.ConnectionCreate, forms.values_of(form), forms.field_names(forms.CONNECTION_SECTIONS)
    )
    if not outcome.ok:
        problems = [f"{k}: {v}" for k, v in outcome.errors.items()] or outcome.form_errors
        return await uvam_page(
            request, user, uvam_id, error=InvalidInput("the connection: " + "; ".join(problems))
        )
    body = outcome.body
    assert isinstance(body, s.ConnectionCreate)
    return await perform(
        connector,
        lambda response, prefer: api.register_connection(
            uvam_id=uvam_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/uvams/{uvam_id}",
        _refusal(request, user, uvam_id),
    )


@router.post("/uvams/{uvam_id}/relations/{relation_id}/end", dependencies=[Csrf])
async def end_relation(
    request: Request,
    uvam_id: str,
    relation_id: str,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
) -> Response:
    form = await request.form()
    return await perform(
        connector,
        lambda response, prefer: parts.end_relation(
            relation_id=relation_id,
            body=s.RelationEnd(),
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/uvams/{uvam_id}",
        _refusal(request, user, uvam_id),
    )
