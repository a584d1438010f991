"""Attachments, devices and relations by their own ids: reads, updates, end of a relation."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import Conflict, NotFound, responses
from connector.org import Role
from connector.permissions import Action
from connector.routes.common import WRITE_RESPONSES, answer, document_response
from connector.routes.views import one, resource_out
from connector.schemas import registry as s
from connector.schemas.common import OperationOut, ResourceOut
from connector.services import documents
from connector.store.tables import Document

router = APIRouter(tags=["Attachments and relations"])

Registrar = Annotated[Principal, Depends(requires(Action.register))]
Prefer = Annotated[str | None, Header(description="respond-async (default) or wait=N seconds")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
Channel = Annotated[str | None, Query(max_length=64, description="when not the only one")]


@router.get(
    "/devices/{device_id}", response_model=ResourceOut, responses=responses(401, 403, 404, 409)
)
async def get_device(
    device_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> ResourceOut:
    return resource_out(await one(session, connector.org, "device", device_id, channel))


@router.get(
    "/attachments/{attachment_id}",
    response_model=ResourceOut,
    responses=responses(401, 403, 404, 409),
)
async def get_attachment(
    attachment_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> ResourceOut:
    return resource_out(await one(session, connector.org, "attachment", attachment_id, channel))


@router.get(
    "/attachments/{attachment_id}/content",
    responses={
        200: {
            "content": {"application/pdf": {}, "application/xml": {}},
            "description": "the document, its SHA-256 checked against the ledger",
        },
        **responses(401, 403, 404, 409, 503, 504),
    },
    response_class=Response,
)
async def attachment_content(
    attachment_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> Response:
    """The document's bytes, after checking their SHA-256 against the one the ledger holds. A
    document uploaded through another organisation's connector is fetched from it (a request
    signed with this organisation's Fabric identity) and kept here."""
    found = await one(session, connector.org, "attachment", attachment_id, channel)
    if connector.org.me.role is Role.AUDITOR:
        # the channels let the auditor read blocks, not query chaincode: its copy of the
        # record was read from the attachment's write set in the ledger's blocks
        on_ledger = found.data
    else:
        on_ledger = await connector.ledger.evaluate(
            user.fabric_user, found.channel, "ReadAttachment", attachment_id
        )
    digest = (on_ledger or {}).get("sha256")
    if not isinstance(digest, str):
        raise NotFound(f"attachment {attachment_id}: the ledger holds no document for it")
    doc = await session.get(Document, digest)
    if doc is None:  # uploaded through another organisation's connector: fetched and checked
        return document_response(await connector.exchange.fetch(found, digest), attachment_id)
    held = replace(documents.check(doc.content, None), filename=doc.filename)
    if held.sha256 != digest:
        raise Conflict(
            f"attachment {attachment_id}: the stored document does not match the ledger's "
            "SHA-256; it was altered after upload",
            code="HashMismatch",
        )
    return document_response(held, attachment_id)


@router.patch(
    "/attachments/{attachment_id}",
    status_code=202,
    response_model=OperationOut,
    responses={**WRITE_RESPONSES, **responses(413, 415)},
)
async def update_attachment(
    attachment_id: str,
    body: s.AttachmentUpdate,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Update Attachment: services 4 and 10, seed tables 6 and 12."""
    doc = None
    if body.documentFile is not None:
        doc = documents.check(
            documents.from_base64(body.documentFile), body.mimeType, body.externalDocumentId
        )
    found = await connector.registry.locate(session, "attachment", attachment_id, channel)
    write = connector.registry.update_attachment(found, body, doc)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)


@router.get(
    "/relations/{relation_id}", response_model=ResourceOut, responses=responses(401, 403, 404, 409)
)
async def get_relation(
    relation_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> ResourceOut:
    return resource_out(await one(session, connector.org, "relation", relation_id, channel))


@router.patch(
    "/relations/{relation_id}",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def end_relation(
    relation_id: str,
    body: s.RelationEnd,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """End Relation: service 14, seed table 16."""
    found = await connector.registry.locate(session, "relation", relation_id, channel)
    write = connector.registry.end_relation(found, body)
    op = await connector.acceptor.accept(user.caller, write, idempotency_key)
    return await answer(connector, op, response, prefer)
