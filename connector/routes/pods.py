"""PODs and their flex devices: the POD registration services (seed table 1, services 1-5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import InvalidInput, responses
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.uploads import read_upload
from connector.routes.views import ledger_history, one, resource_out, scope
from connector.schemas import registry as s
from connector.schemas.common import HistoryEntry, OperationOut, Page, PodDetail, ResourceOut
from connector.services import documents
from connector.store import operations, resources

router = APIRouter(prefix="/pods", tags=["POD registration"])

Registrar = Annotated[Principal, Depends(requires(Action.register))]
Prefer = Annotated[str | None, Header(description="respond-async (default) or wait=N seconds")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
Channel = Annotated[str | None, Query(max_length=64, description="when not the only one")]
READ = responses(401, 403, 404, 409)


@router.get("", response_model=Page[ResourceOut], responses=responses(401, 422))
async def list_pods(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    status: s.PodStatus | None = None,
    q: Annotated[str | None, Query(max_length=64, description="in code or name")] = None,
    channel: Channel = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ResourceOut]:
    """PODs this organisation may see, newest first, with filters and cursor pagination."""
    filters = resources.Filters(
        kind="pod",
        channel=channel,
        status=status.value if status else None,
        search=q,
        **scope(connector.org, "pod"),
    )
    try:
        items, total, nxt = await resources.page(session, filters, limit, cursor)
    except resources.CursorError as exc:
        raise InvalidInput(str(exc)) from None
    return Page(items=[resource_out(r) for r in items], total=total, nextCursor=nxt)


@router.get("/{pod_id}", response_model=PodDetail, responses=READ)
async def get_pod(
    pod_id: str, user: Reader, connector: ConnectorDep, session: SessionDep, channel: Channel = None
) -> PodDetail:
    """One POD with its flex devices, attachments and operations still running."""
    pod = await one(session, connector.org, "pod", pod_id, channel)
    devices = await resources.children(session, "device", pod.id, pod.channel)
    attachments = await resources.children(session, "attachment", pod.id, pod.channel)
    pending = await operations.pending_for(session, pod.id)
    return PodDetail(
        **resource_out(pod).model_dump(),
        devices=[resource_out(d) for d in devices],
        attachments=[resource_out(a) for a in attachments],
        pendingOperations=[connector.runner.present(o) for o in pending],
    )


@router.get(
    "/{pod_id}/history",
    response_model=list[HistoryEntry],
    responses=responses(401, 403, 404, 409, 503, 504),
)
async def pod_history(
    pod_id: str,
    request: Request,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> list[HistoryEntry]:
    """Every committed version, oldest first, read from the ledger itself."""
    pod = await one(session, connector.org, "pod", pod_id, channel)
    return await ledger_history(request, connector, user.fabric_user, pod, "GetPodHistory")


@router.post("", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def register_pod(
    body: s.PodCreate,
    user: Registrar,
    connector: ConnectorDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Register Flex Resource (Grid Connection Point): service 1, seed table 3."""
    write = connector.registry.register_pod(body, connector.registry.home_channel(channel))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch("/{pod_id}", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def update_pod(
    pod_id: str,
    body: s.PodUpdate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Resource Information: service 2, seed table 4 (while the POD is Open)."""
    pod = await connector.registry.locate(session, "pod", pod_id, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.registry.update_pod(pod, body), idempotency_key
    )
    return await answer(connector, op, response, prefer)


@router.patch(
    "/{pod_id}/status", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def pod_status(
    pod_id: str,
    body: s.PodStatusChange,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Resource Status: service 5, seed table 7. The BSP sends for review; the TSO
    pre-validates or rejects; the DSO of the POD's grid validates or rejects."""
    pod = await connector.registry.locate(session, "pod", pod_id, channel)
    write = connector.registry.pod_status(pod, body, set(user.actions))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.put(
    "/{pod_id}/constraints", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def pod_constraints(
    pod_id: str,
    body: s.DsoConstraints,
    user: Annotated[Principal, Depends(requires(Action.validate))],
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """The DSO's static limits on a pre-validated POD of its grid."""
    pod = await connector.registry.locate(session, "pod", pod_id, channel)
    write = connector.registry.pod_constraints(pod, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


# -- flex devices ---------------------------------------------------------------------------


@router.get("/{pod_id}/devices", response_model=list[ResourceOut], responses=READ)
async def list_devices(
    pod_id: str, user: Reader, connector: ConnectorDep, session: SessionDep, channel: Channel = None
) -> list[ResourceOut]:
    pod = await one(session, connector.org, "pod", pod_id, channel)
    return [
        resource_out(d) for d in await resources.children(session, "device", pod.id, pod.channel)
    ]


@router.post(
    "/{pod_id}/devices", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def register_device(
    pod_id: str,
    body: s.DeviceCreate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Register Flex Resource (flex device, e.g. an EV charger behind the POD): service 1."""
    pod = await connector.registry.locate(session, "pod", pod_id, channel)
    write = connector.registry.register_device(pod, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch(
    "/{pod_id}/devices/{device_id}",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def update_device(
    pod_id: str,
    device_id: str,
    body: s.DeviceUpdate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Resource Information of a flex device: service 2."""
    device = await connector.registry.locate(session, "device", device_id, channel)
    write = connector.registry.update_device(device, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


# -- attachments ----------------------------------------------------------------------------


@router.post(
    "/{pod_id}/attachments",
    status_code=202,
    response_model=OperationOut,
    responses={**WRITE_RESPONSES, **responses(413, 415)},
)
async def create_pod_attachment(
    pod_id: str,
    body: s.AttachmentCreate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Create Attachment: service 3, seed table 5 (the document as base64, PDF or XML)."""
    doc = documents.check(
        documents.from_base64(body.documentFile), body.mimeType, body.externalDocumentId
    )
    pod = await connector.registry.locate(session, "pod", pod_id, channel)
    write = connector.registry.create_attachment(pod, body, doc)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.post(
    "/{pod_id}/attachments/upload",
    status_code=202,
    response_model=OperationOut,
    responses={**WRITE_RESPONSES, **responses(413, 415)},
)
async def upload_pod_attachment(
    pod_id: str,
    file: Annotated[UploadFile, File(description="the PDF or XML document, at most 5 MB")],
    documentType: Annotated[str, Form(min_length=1, max_length=256)],
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    externalDocumentId: Annotated[str | None, Form(max_length=256)] = None,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Create Attachment from a file upload (multipart/form-data): service 3."""
    content, name = await read_upload(file)
    doc = documents.check(content, None, name)
    body = s.AttachmentCreate(
        externalDocumentId=externalDocumentId or name or "document",
        documentType=documentType,
        documentFile="",
    )
    pod = await connector.registry.locate(session, "pod", pod_id, channel)
    write = connector.registry.create_attachment(pod, body, doc)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)
