"""UVAMs (resource groups): the UVAM registration services (seed table 1, services 6-14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import InvalidInput, responses
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.views import ledger_history, one, resource_out, scope
from connector.schemas import registry as s
from connector.schemas.common import HistoryEntry, OperationOut, Page, ResourceOut, UvamDetail
from connector.services import documents
from connector.store import operations, resources

router = APIRouter(prefix="/uvams", tags=["UVAM registration"])

Registrar = Annotated[Principal, Depends(requires(Action.register))]
Prefer = Annotated[str | None, Header(description="respond-async (default) or wait=N seconds")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
Channel = Annotated[str | None, Query(max_length=64, description="when not the only one")]
READ = responses(401, 403, 404, 409)


@router.get("", response_model=Page[ResourceOut], responses=responses(401, 422))
async def list_uvams(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    status: s.UvamStatus | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    channel: Channel = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ResourceOut]:
    filters = resources.Filters(
        kind="uvam",
        channel=channel,
        status=status.value if status else None,
        search=q,
        **scope(connector.org, "uvam"),
    )
    try:
        items, total, nxt = await resources.page(session, filters, limit, cursor)
    except resources.CursorError as exc:
        raise InvalidInput(str(exc)) from None
    return Page(items=[resource_out(r) for r in items], total=total, nextCursor=nxt)


@router.get("/{uvam_id}", response_model=UvamDetail, responses=READ)
async def get_uvam(
    uvam_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> UvamDetail:
    uvam = await one(session, connector.org, "uvam", uvam_id, channel)
    relations = await resources.children(session, "relation", uvam.id, uvam.channel)
    attachments = await resources.children(session, "attachment", uvam.id, uvam.channel)
    connection = await resources.get(session, "connection", uvam.id, uvam.channel)
    pending = await operations.pending_for(session, uvam.id)
    return UvamDetail(
        **resource_out(uvam).model_dump(),
        relations=[resource_out(r) for r in relations],
        attachments=[resource_out(a) for a in attachments],
        connection=resource_out(connection[0]) if connection else None,
        pendingOperations=[connector.runner.present(o) for o in pending],
    )


@router.get(
    "/{uvam_id}/history",
    response_model=list[HistoryEntry],
    responses=responses(401, 403, 404, 409, 503, 504),
)
async def uvam_history(
    uvam_id: str,
    request: Request,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> list[HistoryEntry]:
    """Every committed version, oldest first, read from the ledger itself."""
    uvam = await one(session, connector.org, "uvam", uvam_id, channel)
    return await ledger_history(request, connector, user.fabric_user, uvam, "GetUvamHistory")


@router.post("", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def register_uvam(
    body: s.UvamCreate,
    user: Registrar,
    connector: ConnectorDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Register Resource Group: service 6, seed table 8."""
    write = connector.registry.register_uvam(body, connector.registry.home_channel(channel))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch("/{uvam_id}", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def update_uvam(
    uvam_id: str,
    body: s.UvamUpdate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Resource Group: service 7, seed table 9 (while the UVAM is Open)."""
    uvam = await connector.registry.locate(session, "uvam", uvam_id, channel)
    write = connector.registry.update_uvam(uvam, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.post(
    "/{uvam_id}/resources", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def add_resource(
    uvam_id: str,
    body: s.RelationCreate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Register Resource in Resource Group: service 8, seed table 10. The operation's
    resourceId is the new relation's id."""
    uvam = await connector.registry.locate(session, "uvam", uvam_id, channel)
    write = connector.registry.add_resource(uvam, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.post(
    "/{uvam_id}/attachments",
    status_code=202,
    response_model=OperationOut,
    responses={**WRITE_RESPONSES, **responses(413, 415)},
)
async def create_uvam_attachment(
    uvam_id: str,
    body: s.AttachmentCreate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Create Attachment (UVAM): service 9, seed table 11."""
    doc = documents.check(
        documents.from_base64(body.documentFile), body.mimeType, body.externalDocumentId
    )
    uvam = await connector.registry.locate(session, "uvam", uvam_id, channel)
    write = connector.registry.create_attachment(uvam, body, doc)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.post(
    "/{uvam_id}/connection", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def register_connection(
    uvam_id: str,
    body: s.ConnectionCreate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Register Connection: service 11, seed table 13."""
    uvam = await connector.registry.locate(session, "uvam", uvam_id, channel)
    write = connector.registry.register_connection(uvam, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch(
    "/{uvam_id}/connection", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def update_connection(
    uvam_id: str,
    body: s.ConnectionUpdate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Connection: service 12, seed table 14."""
    uvam = await connector.registry.locate(session, "uvam", uvam_id, channel)
    write = connector.registry.update_connection(uvam, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.patch(
    "/{uvam_id}/status", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES
)
async def uvam_status(
    uvam_id: str,
    body: s.UvamStatusChange,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Resource Group Status: service 13, seed table 15. The BSP sends for
    qualification; the TSO qualifies or rejects."""
    uvam = await connector.registry.locate(session, "uvam", uvam_id, channel)
    write = connector.registry.uvam_status(uvam, body, set(user.actions))
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)
