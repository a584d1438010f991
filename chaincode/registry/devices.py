"""Flex devices (EV chargers and other units behind a POD): register, update, read, list.

A device belongs to its parent POD: the POD's owner adds or changes it while the POD is still
being assembled (Registered or Open), and it inherits the POD's DSO, which lets that DSO read
it. It has no lifecycle of its own: it may join a UVAM (behind-the-meter aggregation) when its
POD is PreValidated or Validated.
"""

from __future__ import annotations

from typing import Any

from . import lifecycle, pods
from .access import require_owner, require_read, require_same
from .codes import PodStatus
from .errors import AlreadyExists, InvalidArgument, NotFound
from .fields import build, label_of
from .ledger import BNA, DEVICE, DEVICE_BY_POD, POD, Tx, page_result
from .models import DeviceIn, record_of
from .participants import is_key_part, require_tso_receiver, resolve

ENTITY = "FlexDevice"


def _check_against_pod(tx: Tx, request: DeviceIn, pod: dict[str, Any]) -> None:
    entity = f"flex device {request.resourceId}"
    pod_id = pod["meteringPointId"]
    require_tso_receiver(tx, entity, request.receiverId)
    require_same(
        entity,
        "flexibilityServiceProviderId (its POD's owner)",
        request.flexibilityServiceProviderId,
        pod["flexibilityServiceProviderId"],
    )
    require_same(
        entity,
        "distributionGridOperatorName (its POD's DSO)",
        request.distributionGridOperatorName,
        pod["distributionGridOperatorName"],
    )
    require_same(
        entity, "gridVoltageLevel (its POD's)", request.gridVoltageLevel, pod["gridVoltageLevel"]
    )
    if request.contractedPower > pod["contractedPower"]:
        raise InvalidArgument(
            f"{entity}: contractedPower {request.contractedPower:g} kW exceeds its POD {pod_id}'s "
            f"{pod['contractedPower']:g} kW"
        )


def _record(request: DeviceIn, pod: dict[str, Any]) -> dict[str, Any]:
    record = record_of(request, drop=("status",))
    record["distributionGridOperatorName"] = pod["distributionGridOperatorName"]
    record["gridVoltageLevel"] = pod["gridVoltageLevel"]
    record["meteringPointId"] = pod["meteringPointId"]
    return record


def register(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    pod_id, device_id = data.get("parentResourceId"), data.get("resourceId")
    actor = resolve(
        tx,
        (BNA,),
        *([(POD, pod_id)] if is_key_part(pod_id) else []),
        *([(DEVICE, device_id)] if is_key_part(device_id) else []),
    )
    request = build(DeviceIn, data, label_of("flex device", data, "resourceId"))
    device_id = request.resourceId
    pod = pods.load(tx, request.parentResourceId)
    pod_id = pod["meteringPointId"]
    require_owner(
        actor, lifecycle.POD, pod_id, pod["flexibilityServiceProviderId"], "add a flex device to"
    )
    lifecycle.check_assembling(lifecycle.POD, pod_id, pod["status"], "its flex devices")
    _check_against_pod(tx, request, pod)
    if tx.get(DEVICE, device_id) is not None:
        raise AlreadyExists(f"flex device {device_id} is already registered")

    record = _record(request, pod)
    record.update({"createdAt": tx.timestamp, "docType": "device", "status": PodStatus.REGISTERED})
    tx.stamp(record)
    tx.put(DEVICE, [device_id], record)
    tx.put_index(DEVICE_BY_POD, pod_id, device_id)
    tx.record_change(
        "DeviceRegistered",
        ENTITY,
        device_id,
        None,
        record["status"],
        owner=record["flexibilityServiceProviderId"],
        pod=pod_id,
    )
    return record


def load(tx: Tx, device_id: str) -> dict[str, Any]:
    record = tx.get(DEVICE, device_id)
    if record is None:
        raise NotFound(f"flex device {device_id} is not registered")
    return record


def update(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    device_id = data.get("resourceId")
    if not isinstance(device_id, str) or not device_id:
        raise InvalidArgument("flex device update: field 'resourceId' is mandatory and missing")
    record = load(tx, device_id)
    entity = f"flex device {device_id}"
    require_owner(actor, ENTITY, device_id, record["flexibilityServiceProviderId"], "update")
    require_same(
        entity, "parentResourceId", data.get("parentResourceId"), record["parentResourceId"]
    )
    if "status" in data:
        raise InvalidArgument(f"{entity}: a flex device's status follows its POD")
    pod = pods.load(tx, record["parentResourceId"])
    lifecycle.check_assembling(
        lifecycle.POD, pod["meteringPointId"], pod["status"], "its flex devices"
    )
    merged = {k: v for k, v in record.items() if k in DeviceIn.model_fields and k != "status"}
    merged.update(data)
    request = build(DeviceIn, merged, entity)
    _check_against_pod(tx, request, pod)

    new = {k: v for k, v in record.items() if k not in DeviceIn.model_fields or k == "status"}
    new.update(_record(request, pod))
    tx.stamp(new)
    tx.put(DEVICE, [device_id], new)
    tx.record_change(
        "DeviceUpdated",
        ENTITY,
        device_id,
        record["status"],
        new["status"],
        owner=new["flexibilityServiceProviderId"],
        pod=pod["meteringPointId"],
    )
    return new


def read(tx: Tx, device_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = load(tx, device_id)
    require_read(actor, "flex device", device_id, record)
    return record


def list_by_pod(tx: Tx, pod_id: str, page_size: int, bookmark: str) -> dict[str, Any]:
    pods.read(tx, pod_id)
    ids, next_bookmark, fetched = tx.index_page(DEVICE_BY_POD, [pod_id], page_size, bookmark)
    tx.prefetch(*((DEVICE, d) for d in ids))
    records = [r for r in (tx.get(DEVICE, d) for d in ids) if r is not None]
    return page_result(records, next_bookmark, fetched)
