"""Relations between a UVAM and its members: a POD, or a flex device behind one.

Register Resource in Resource Group returns the relation's id (derived from the transaction);
End Relation closes it with an end time. A resource is in at most one active relation, and a
POD and one of its own devices never both (their flexibility would count twice).
"""

from __future__ import annotations

from typing import Any

from . import lifecycle, pods, uvams
from .access import require_owner, require_read, require_same
from .codes import RelationStatus
from .errors import InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import (
    DEVICE,
    POD,
    RELATION,
    RELATION_BY_RESOURCE,
    RELATION_BY_UVAM,
    UVAM,
    Tx,
    page_result,
)
from .models import EndRelationIn, RelationIn, record_of
from .participants import require_tso_receiver, resolve

ENTITY = lifecycle.RELATION


def _member(tx: Tx, resource: str, uvam_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(kind, member record, its POD) for a POD code or a flex device id."""
    pod = tx.get(POD, resource)
    if pod is not None:
        return "POD", pod, pod
    device = tx.get(DEVICE, resource)
    if device is None:
        raise NotFound(
            f"resource {resource} for UVAM {uvam_id} is neither a registered POD nor a flex device"
        )
    parent = tx.get(POD, device["parentResourceId"])
    if parent is None:  # devices are only created under an existing POD
        raise NotFound(f"flex device {resource}'s POD {device['parentResourceId']} is missing")
    return "FlexDevice", device, parent


def _active(tx: Tx, resource: str) -> list[str]:
    return list(tx.index_ids(RELATION_BY_RESOURCE, resource))


def register(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(RelationIn, data, label_of("UVAM", data, "resourceGroupId"))
    uvam_id, resource = request.resourceGroupId, request.resource
    uvam = uvams.load(tx, uvam_id)
    owner = uvam["flexibilityServiceProviderId"]
    require_owner(actor, lifecycle.UVAM, uvam_id, owner, "add resources to")
    require_same(
        f"UVAM {uvam_id}",
        "flexibilityServiceProviderId",
        request.flexibilityServiceProviderId,
        owner,
    )
    require_tso_receiver(tx, f"UVAM {uvam_id}", request.receiverId)
    lifecycle.check_assembling(lifecycle.UVAM, uvam_id, uvam["status"], "its members")
    kind, member, pod = _member(tx, resource, uvam_id)
    require_owner(actor, kind, resource, member["flexibilityServiceProviderId"], "aggregate")
    if pod["status"] not in lifecycle.AGGREGATABLE_POD:
        allowed = " or ".join(sorted(lifecycle.AGGREGATABLE_POD))
        raise WrongState(
            f"POD {pod['meteringPointId']} is {pod['status']}; only a {allowed} POD (or its flex "
            "devices) can join a UVAM"
        )
    busy = _active(tx, resource)
    if busy:
        raise WrongState(f"{kind} {resource} is already in active relation {busy[0]}")
    if kind == "POD":
        for device_id in pods.device_ids(tx, resource):
            if _active(tx, device_id):
                raise WrongState(
                    f"POD {resource}'s flex device {device_id} is already aggregated; a POD and "
                    "its devices cannot both be members"
                )
    elif _active(tx, pod["meteringPointId"]):
        raise WrongState(
            f"flex device {resource}'s POD {pod['meteringPointId']} is already aggregated; a POD "
            "and its devices cannot both be members"
        )

    relation_id = tx.derived_id("REL")
    record = record_of(request)
    record.update(
        {
            "createdAt": tx.timestamp,
            "docType": "relation",
            "podId": pod["meteringPointId"],
            "relationId": relation_id,
            "resourceType": kind,
            "startDateTime": request.startDateTime or tx.timestamp[:19] + "Z",
        }
    )
    lifecycle.transition(tx, ENTITY, record, RelationStatus.ACTIVE)
    tx.put_index(RELATION_BY_UVAM, uvam_id, relation_id)
    tx.put_index(RELATION_BY_RESOURCE, resource, relation_id)

    uvam = dict(uvam)
    uvam["activeRelations"] = int(uvam["activeRelations"]) + 1
    uvams.save_assembling(tx, uvam)
    return record


def load(tx: Tx, relation_id: str) -> dict[str, Any]:
    record = tx.get(RELATION, relation_id)
    if record is None:
        raise NotFound(f"relation {relation_id} does not exist")
    return record


def end(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(EndRelationIn, data, label_of("relation", data, "relationId"))
    relation_id = request.relationId
    record = load(tx, relation_id)
    owner = record["flexibilityServiceProviderId"]
    require_owner(actor, ENTITY, relation_id, owner, "end")
    require_same(f"relation {relation_id}", "receiverId", request.receiverId, record["receiverId"])
    # the table refuses an Ended relation too; asked first, before the end time is judged
    lifecycle.find(ENTITY, relation_id, record["status"], RelationStatus.ENDED)
    end_time = request.endDateTime or tx.timestamp[:19] + "Z"
    if end_time < record["startDateTime"]:
        raise InvalidArgument(
            f"relation {relation_id}: endDateTime {end_time} is before its start "
            f"{record['startDateTime']}"
        )
    uvam = uvams.load(tx, record["resourceGroupId"])

    new = dict(record)
    new["endDateTime"] = end_time
    tx.del_index(RELATION_BY_RESOURCE, record["resource"], relation_id)
    uvam = dict(uvam)
    uvam["activeRelations"] = max(0, int(uvam["activeRelations"]) - 1)
    tx.stamp(uvam)
    tx.put(UVAM, [uvam["resourceGroupId"]], uvam)
    lifecycle.transition(tx, ENTITY, new, RelationStatus.ENDED)
    return new


def read(tx: Tx, relation_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = load(tx, relation_id)
    require_read(actor, "relation", relation_id, record)
    return record


def list_by_uvam(tx: Tx, uvam_id: str, page_size: int, bookmark: str) -> dict[str, Any]:
    uvams.read(tx, uvam_id)
    ids, next_bookmark, fetched = tx.index_page(RELATION_BY_UVAM, [uvam_id], page_size, bookmark)
    records = [r for r in (tx.get(RELATION, i) for i in ids) if r is not None]
    return page_result(records, next_bookmark, fetched)
