"""Resources: the POD list, the registration form, a POD's page (devices, attachments, the
next step of its validation for each role), all through the API's own routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput
from connector.org import Role
from connector.permissions import Action
from connector.routes import pods as api
from connector.schemas import registry as s
from connector.schemas.common import PodDetail
from connector.web import edits, forms
from connector.web.actions import Refusal, banner, idempotency_key, new_key, perform
from connector.web.lists import listing
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui")
Registrar = Annotated[Principal, Depends(page_requires(Action.register))]
Csrf = Depends(check_csrf)

POD_LABELS = {
    "meteringPointId": "POD code",
    "resourceName": "Name",
    "status": "Status",
    "locationId": "Location",
    "resourceType": "Resource type",
    "direction": "Direction",
    "contractedPower": "Contracted power",
    "maximumFlexUp": "Maximum flexibility up",
    "maximumFlexDown": "Maximum flexibility down",
    "gridVoltageLevel": "Grid voltage level",
    "distributionGridOperatorName": "DSO",
    "flexibilityServiceProviderId": "BSP",
    "receiverId": "Receiver (TSO)",
    "accountingPointId": "Secondary POD",
    "contractedPowerSecondaryPOD": "Contracted power of the secondary POD",
    "brpConsumptionCodingSchemeType": "BRP coding scheme",
    "brpContractId": "BRP contract",
    "startDateTime": "Valid from",
    "endDateTime": "Valid until",
    "registrationPeriod": "Registered",
    "resourceId": "Own resource id",
}


@router.get("/pods", response_class=HTMLResponse)
async def pod_list(
    request: Request,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    status: s.PodStatus | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    back: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    page = await api.list_pods(
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
        "pods/list.html",
        user,
        "pods",
        page=page,
        paging=listing(request, page, cursor, back),
        statuses=[m.value for m in s.PodStatus],
        status=status.value if status else "",
        q=q or "",
    )


def _new_form(
    request: Request,
    user: Principal,
    outcome: forms.Outcome | None = None,
    error: ApiError | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    return render(
        request,
        "pods/new.html",
        user,
        "pods",
        status_code=error.status if error else (422 if outcome and not outcome.ok else 200),
        sections=forms.pod_sections(connector.org),
        values=outcome.values if outcome else {},
        errors=outcome.errors if outcome else {},
        form_errors=(outcome.form_errors if outcome else []) + ([error.message] if error else []),
        key=new_key(),
        tso=connector.org.tso,
    )


@router.get("/pods/new", response_class=HTMLResponse)
async def pod_new(request: Request, user: Registrar) -> HTMLResponse:
    return _new_form(request, user)


@router.post("/pods/new", response_class=HTMLResponse, dependencies=[Csrf])
async def pod_create(request: Request, user: Registrar, connector: ConnectorDep) -> Response:
    form = await request.form()
    sections = forms.pod_sections(connector.org)
    outcome = forms.parse(s.PodCreate, forms.values_of(form), forms.field_names(sections))
    if not outcome.ok:
        return _new_form(request, user, outcome)
    body = outcome.body
    assert isinstance(body, s.PodCreate)

    async def refused(exc: ApiError) -> Response:
        return _new_form(request, user, outcome, exc)

    return await perform(
        connector,
        lambda response, prefer: api.register_pod(
            body=body,
            user=user,
            connector=connector,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/pods/{body.meteringPointId}",
        refused,
    )


def _edit(connector: Any, pod_id: str) -> edits.EditForm:
    return edits.EditForm(
        model=s.PodUpdate,
        sections=edits.sections_for(s.PodUpdate, forms.pod_sections(connector.org)),
        section="pods",
        noun="POD",
        entity_id=pod_id,
        back=f"/ui/pods/{pod_id}",
        list_href="/ui/pods",
        list_label="Resources (PODs)",
        check="pod-update",
    )


async def _record(request: Request, user: Principal, pod_id: str) -> dict[str, Any]:
    connector = request.app.state.connector
    async with connector.db.session() as session:
        detail: PodDetail = await api.get_pod(
            pod_id=pod_id, user=user, connector=connector, session=session, channel=None
        )
    return detail.record


@router.get("/pods/{pod_id}/edit", response_class=HTMLResponse)
async def pod_edit(
    request: Request, pod_id: str, user: Registrar, connector: ConnectorDep
) -> HTMLResponse:
    return _edit(connector, pod_id).page(request, user, await _record(request, user, pod_id))


@router.post("/pods/{pod_id}/edit", response_class=HTMLResponse, dependencies=[Csrf])
async def pod_update(
    request: Request, pod_id: str, user: Registrar, connector: ConnectorDep, session: SessionDep
) -> Response:
    """Update Resource Information with the fields the user changed (the ledger takes them
    while the POD is Open and says why otherwise)."""

    async def update(body: Any, response: Response, prefer: str, key: str | None) -> Any:
        return await api.update_pod(
            pod_id=pod_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=key,
            channel=None,
        )

    record = await _record(request, user, pod_id)
    return await _edit(connector, pod_id).submit(request, user, connector, record, update)


async def pod_page(
    request: Request,
    user: Principal,
    pod_id: str,
    error: ApiError | None = None,
    op_id: str | None = None,
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.session() as session:
        detail: PodDetail = await api.get_pod(
            pod_id=pod_id, user=user, connector=connector, session=session, channel=None
        )
    record = detail.record
    role = connector.org.me.role
    dso = connector.org.party_by_eic(record.get("distributionGridOperatorName", ""))
    owner = connector.org.party_by_eic(record.get("flexibilityServiceProviderId", ""))
    live = " ".join(
        [f"POD:{detail.id}"]
        + [f"FlexDevice:{d.id}" for d in detail.devices]
        + ["Attachment:*", "FlexDevice:*"]
        + [f"op:{o.id}" for o in detail.pendingOperations]
    )
    return render(
        request,
        "pods/detail.html",
        user,
        "pods",
        status_code=error.status if error else 200,
        pod=detail,
        record=record,
        labels=POD_LABELS,
        dso=dso,
        owner=owner,
        role=role.value,
        error=error,
        done=await banner(request, op_id),
        live=live,
        device_sections=forms.DEVICE_SECTIONS,
        constraint_fields=forms.CONSTRAINT_FIELDS,
        key=new_key(),
        may_register=Action.register in user.actions,
        may_review=Action.review in user.actions and role is Role.TSO,
        may_validate=Action.validate in user.actions,
    )


@router.get("/pods/{pod_id}", response_class=HTMLResponse)
async def pod_view(
    request: Request,
    pod_id: str,
    user: PageUser,
    op: Annotated[str | None, Query(max_length=700)] = None,
) -> HTMLResponse:
    return await pod_page(request, user, pod_id, op_id=op)


def _refusal(request: Request, user: Principal, pod_id: str) -> Refusal:
    async def show(exc: ApiError) -> Response:
        return await pod_page(request, user, pod_id, error=exc)

    return show


@router.post("/pods/{pod_id}/status", dependencies=[Csrf])
async def pod_decision(
    request: Request, pod_id: str, user: PageUser, connector: ConnectorDep, session: SessionDep
) -> Response:
    """Send for validation (the BSP), pre-validate or reject (the TSO), validate or reject
    with constraints (the DSO): Update Resource Status, whoever asks."""
    form = await request.form()
    values = forms.values_of(form)
    known = {"status", "reason"} | {f.name for f in forms.CONSTRAINT_FIELDS}
    if not any(k.startswith("constraints.") for k in values if k != "constraints.note"):
        values.pop("constraints.note", None)  # a note alone is no constraint
    outcome = forms.parse(s.PodStatusChange, values, known)
    if not outcome.ok:
        rules = "; ".join(outcome.form_errors or [f"{k}: {v}" for k, v in outcome.errors.items()])
        return await pod_page(request, user, pod_id, error=InvalidInput(rules))
    body = outcome.body
    assert isinstance(body, s.PodStatusChange)
    return await perform(
        connector,
        lambda response, prefer: api.pod_status(
            pod_id=pod_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/pods/{pod_id}",
        _refusal(request, user, pod_id),
    )


@router.post("/pods/{pod_id}/devices", dependencies=[Csrf])
async def device_create(
    request: Request, pod_id: str, user: Registrar, connector: ConnectorDep, session: SessionDep
) -> Response:
    form = await request.form()
    outcome = forms.parse(
        s.DeviceCreate, forms.values_of(form), forms.field_names(forms.DEVICE_SECTIONS)
    )
    if not outcome.ok:
        problems = [f"{k}: {v}" for k, v in outcome.errors.items()] or outcome.form_errors
        return await pod_page(
            request, user, pod_id, error=InvalidInput("the flex device: " + "; ".join(problems))
        )
    body = outcome.body
    assert isinstance(body, s.DeviceCreate)
    return await perform(
        connector,
        lambda response, prefer: api.register_device(
            pod_id=pod_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/pods/{pod_id}",
        _refusal(request, user, pod_id),
    )


@router.post("/pods/{pod_id}/attachments", dependencies=[Csrf])
async def attachment_upload(
    request: Request,
    pod_id: str,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    documentType: Annotated[str, Form(min_length=1, max_length=256)],
    externalDocumentId: Annotated[str | None, Form(max_length=256)] = None,
    key: Annotated[str | None, Form(alias="_key", max_length=128)] = None,
) -> Response:
    return await perform(
        connector,
        lambda response, prefer: api.upload_pod_attachment(
            pod_id=pod_id,
            file=file,
            documentType=documentType,
            user=user,
            connector=connector,
            session=session,
            response=response,
            externalDocumentId=externalDocumentId or None,
            prefer=prefer,
            idempotency_key=key,
            channel=None,
        ),
        f"/ui/pods/{pod_id}",
        _refusal(request, user, pod_id),
    )


@router.post("/pods/{pod_id}/constraints", dependencies=[Csrf])
async def pod_constraints(
    request: Request,
    pod_id: str,
    user: Annotated[Principal, Depends(page_requires(Action.validate))],
    connector: ConnectorDep,
    session: SessionDep,
) -> Response:
    form = await request.form()
    values = {k.removeprefix("constraints."): v for k, v in forms.values_of(form).items()}
    outcome = forms.parse(s.DsoConstraints, values, set(values))
    if not outcome.ok:
        rules = "; ".join(outcome.form_errors or [f"{k}: {v}" for k, v in outcome.errors.items()])
        return await pod_page(request, user, pod_id, error=InvalidInput(rules))
    body = outcome.body
    assert isinstance(body, s.DsoConstraints)
    return await perform(
        connector,
        lambda response, prefer: api.pod_constraints(
            pod_id=pod_id,
            body=body,
            user=user,
            connector=connector,
            session=session,
            response=response,
            prefer=prefer,
            idempotency_key=idempotency_key(form),
            channel=None,
        ),
        f"/ui/pods/{pod_id}",
        _refusal(request, user, pod_id),
    )
