"""Attachments of a POD or a UVAM: the ledger records type, size, SHA-256 and owner.

Creating an attachment links it to its POD or UVAM at once (the seed's create-then-link
takes one transaction here), which opens a POD that is now complete.
"""

from __future__ import annotations

from typing import Any

from . import lifecycle, pods, uvams
from .access import require_owner, require_read, require_same
from .documents import fingerprint
from .errors import AlreadyExists, InvalidArgument, NotFound
from .fields import build, label_of
from .ledger import ATTACHMENT, Tx
from .models import AttachmentIn, AttachmentUpdateIn, record_of
from .participants import require_tso_receiver, resolve

ENTITY = "Attachment"


def _target(tx: Tx, entity: str, target_id: str) -> dict[str, Any]:
    return pods.load(tx, target_id) if entity == lifecycle.POD else uvams.load(tx, target_id)


def create(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(AttachmentIn, data, label_of("attachment", data, "attachmentId"))
    if request.meteringPointId is not None:
        entity, target_id = lifecycle.POD, request.meteringPointId
    else:
        entity, target_id = lifecycle.UVAM, str(request.resourceGroupId)
    attachment_id = request.attachmentId or tx.derived_id("ATT")
    label = f"attachment {attachment_id}"
    target = _target(tx, entity, target_id)
    owner = target["flexibilityServiceProviderId"]
    require_owner(actor, entity, target_id, owner, "attach a document to")
    require_same(label, "senderId (the owning BSP)", request.senderId, owner)
    require_tso_receiver(tx, label, request.receiverId)
    lifecycle.check_assembling(entity, target_id, target["status"], "its attachments")
    document = fingerprint(
        label, request.mimeType, request.documentFile, request.sha256, request.size
    )
    if tx.get(ATTACHMENT, attachment_id) is not None:
        raise AlreadyExists(f"attachment {attachment_id} already exists")

    record = record_of(request, drop=("documentFile",))
    record.update(document)
    record.update(
        {
            "attachmentId": attachment_id,
            "createdAt": tx.timestamp,
            "docType": "attachment",
            "flexibilityServiceProviderId": owner,
            "targetEntity": entity,
            "targetId": target_id,
            "version": 1,
        }
    )
    if entity == lifecycle.POD:
        record["distributionGridOperatorName"] = target["distributionGridOperatorName"]
    tx.stamp(record)
    tx.put(ATTACHMENT, [attachment_id], record)
    tx.record_change(
        "AttachmentCreated",
        ENTITY,
        attachment_id,
        None,
        "Linked",
        owner=owner,
        target=f"{entity} {target_id}",
    )

    target = dict(target)
    target["attachmentIds"] = [*target["attachmentIds"], attachment_id]
    if entity == lifecycle.POD:
        pods.save_assembling(tx, target)
    else:
        uvams.save_assembling(tx, target)
    return record


def load(tx: Tx, attachment_id: str) -> dict[str, Any]:
    record = tx.get(ATTACHMENT, attachment_id)
    if record is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return record


def update(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    """A new version of the document; allowed while its POD or UVAM is being assembled."""
    actor = resolve(tx)
    request = build(AttachmentUpdateIn, data, label_of("attachment", data, "attachmentId"))
    attachment_id = request.attachmentId
    label = f"attachment {attachment_id}"
    record = load(tx, attachment_id)
    owner = record["flexibilityServiceProviderId"]
    require_owner(actor, ENTITY, attachment_id, owner, "update")
    require_same(label, "receiverId", request.receiverId, record["receiverId"])
    entity, target_id = record["targetEntity"], record["targetId"]
    target = _target(tx, entity, target_id)
    lifecycle.check_assembling(entity, target_id, target["status"], "its attachments")
    new_document = (
        request.documentFile is not None or request.sha256 is not None or request.size is not None
    )
    mime = request.mimeType or record["mimeType"]
    if not new_document and request.mimeType is not None and mime != record["mimeType"]:
        raise InvalidArgument(f"{label}: a new mimeType needs the new document")
    changes = request.model_dump(exclude_none=True, exclude={"attachmentId", "documentFile"})
    if not changes and request.documentFile is None:
        raise InvalidArgument(f"{label}: the update changes nothing")

    new = dict(record)
    new.update({k: v for k, v in changes.items() if k not in ("sha256", "size", "mimeType")})
    if new_document:
        new.update(fingerprint(label, mime, request.documentFile, request.sha256, request.size))
    new["version"] = int(record["version"]) + 1
    tx.stamp(new)
    tx.put(ATTACHMENT, [attachment_id], new)
    tx.record_change(
        "AttachmentUpdated",
        ENTITY,
        attachment_id,
        "Linked",
        "Linked",
        owner=owner,
        target=f"{entity} {target_id}",
        version=new["version"],
    )
    return new


def read(tx: Tx, attachment_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = load(tx, attachment_id)
    require_read(actor, "attachment", attachment_id, record)
    return record
