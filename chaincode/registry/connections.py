"""The connection of a UVAM to the TSO's systems (seed tables 13-14): one per UVAM.

Registering it may complete, and so open, the UVAM. It changes only while the UVAM is being
assembled (Registered or Open).
"""

from __future__ import annotations

from typing import Any

from . import lifecycle, uvams
from .access import require_owner, require_read, require_same
from .documents import fingerprint
from .errors import AlreadyExists, InvalidArgument, NotFound
from .fields import build, label_of
from .ledger import CONNECTION, Tx
from .models import ConnectionIn, record_of
from .participants import require_tso_receiver, resolve

ENTITY = "Connection"


def _checked(tx: Tx, data: dict[str, Any]) -> tuple[ConnectionIn, dict[str, Any]]:
    """The request and its UVAM, after every check shared by register and update."""
    actor = resolve(tx)
    request = build(ConnectionIn, data, label_of("connection of UVAM", data, "resourceGroupId"))
    uvam_id = request.resourceGroupId
    uvam = uvams.load(tx, uvam_id)
    owner = uvam["flexibilityServiceProviderId"]
    require_owner(actor, lifecycle.UVAM, uvam_id, owner, "connect")
    label = f"connection of UVAM {uvam_id}"
    require_same(label, "flexibilityServiceProviderId", request.flexibilityServiceProviderId, owner)
    require_tso_receiver(tx, label, request.receiverId)
    lifecycle.check_assembling(lifecycle.UVAM, uvam_id, uvam["status"], "its connection")
    return request, uvam


def _record(tx: Tx, request: ConnectionIn, uvam: dict[str, Any]) -> dict[str, Any]:
    record = record_of(request, drop=("documentFile",))
    record["flexibilityServiceProviderId"] = uvam["flexibilityServiceProviderId"]
    if request.documentFile is not None:
        label = f"connection of UVAM {request.resourceGroupId}"
        document = fingerprint(
            label, _mime(request.externalDocumentId), request.documentFile, None, None
        )
        record["document"] = document
    return record


def _mime(external_document_id: str) -> str:
    """The connection's document type from its file name, as the CBP GUI names files."""
    return "application/pdf" if external_document_id.lower().endswith(".pdf") else "application/xml"


def register(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    request, uvam = _checked(tx, data)
    uvam_id = request.resourceGroupId
    if tx.get(CONNECTION, uvam_id) is not None:
        raise AlreadyExists(f"UVAM {uvam_id} already has a connection; use UpdateConnection")
    record = _record(tx, request, uvam)
    record.update({"createdAt": tx.timestamp, "docType": "connection", "version": 1})
    tx.stamp(record)
    tx.put(CONNECTION, [uvam_id], record)
    tx.record_change(
        "ConnectionRegistered",
        ENTITY,
        uvam_id,
        None,
        "Registered",
        owner=record["flexibilityServiceProviderId"],
    )
    uvam = dict(uvam)
    uvam["connection"] = True
    uvams.save_assembling(tx, uvam)
    return record


def update(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    uvam_id = data.get("resourceGroupId")
    if not isinstance(uvam_id, str) or not uvam_id:
        raise InvalidArgument("connection update: field 'resourceGroupId' is mandatory and missing")
    old = tx.get(CONNECTION, uvam_id)
    merged = {k: v for k, v in (old or {}).items() if k in ConnectionIn.model_fields}
    merged.update(data)
    request, uvam = _checked(tx, merged)
    if old is None:
        raise NotFound(f"UVAM {uvam_id} has no connection; use RegisterConnection")
    record = _record(tx, request, uvam)
    record.update(
        {"createdAt": old["createdAt"], "docType": "connection", "version": int(old["version"]) + 1}
    )
    if "document" in old and "document" not in record:
        record["document"] = old["document"]
    tx.stamp(record)
    tx.put(CONNECTION, [uvam_id], record)
    tx.record_change(
        "ConnectionUpdated",
        ENTITY,
        uvam_id,
        "Registered",
        "Registered",
        owner=record["flexibilityServiceProviderId"],
        version=record["version"],
    )
    return record


def read(tx: Tx, uvam_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = tx.get(CONNECTION, uvam_id)
    if record is None:
        raise NotFound(f"UVAM {uvam_id} has no connection")
    require_read(actor, "connection of UVAM", uvam_id, record)
    return record
