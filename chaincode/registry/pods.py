"""PODs (grid connection points): register, update while Open, status, DSO constraints, reads.

RegisterPod is on the benchmark's hot path: it reads the caller (2 keys), the BNA, the DSO
and the POD id, all in one GET_STATE_MULTIPLE, and writes the POD and its three index keys
(one WRITE_BATCH_STATE, by the runtime); nothing more.
"""

from __future__ import annotations

from typing import Any

from . import lifecycle
from .access import can_read, require_read, require_same
from .codes import PodStatus, Role, enum_value, pod_distributor
from .errors import AlreadyExists, Forbidden, InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import (
    BNA,
    DEVICE_BY_POD,
    PARTICIPANT,
    POD,
    POD_BY_DSO,
    POD_BY_OWNER,
    POD_BY_STATUS,
    Tx,
    page_result,
)
from .models import DsoConstraints, PodIn, PodStatusIn, record_of
from .participants import caller_keys, is_key_part, require_dso, require_tso_receiver, resolve

ENTITY = lifecycle.POD


def _check_parties(tx: Tx, request: PodIn) -> None:
    entity = f"POD {request.meteringPointId}"
    require_tso_receiver(tx, entity, request.receiverId)
    dso = require_dso(tx, entity, request.distributionGridOperatorName)
    code = dso.get("distributorCode")
    if code is not None and code != pod_distributor(request.meteringPointId):
        raise InvalidArgument(
            f"{entity}: its distributor code is {pod_distributor(request.meteringPointId)} but "
            f"DSO {dso['eic']} ({dso['name']}) is distributor {code}"
        )


def _register_keys(tx: Tx, data: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every key RegisterPod reads, taken from the raw request: one request to the peer."""
    wanted = [*caller_keys(tx), (BNA,)]
    dso, pod_id = data.get("distributionGridOperatorName"), data.get("meteringPointId")
    if is_key_part(dso):
        wanted.append((PARTICIPANT, dso))
    if is_key_part(pod_id):
        wanted.append((POD, pod_id))
    return wanted


def register(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    tx.prefetch(*_register_keys(tx, data))
    actor = resolve(tx)
    request = build(PodIn, data, label_of("POD", data, "meteringPointId"))
    pod_id = request.meteringPointId
    row = lifecycle.creation(ENTITY)
    lifecycle.authorize(row, pod_id, actor, request.flexibilityServiceProviderId)
    _check_parties(tx, request)
    if tx.get(POD, pod_id) is not None:
        raise AlreadyExists(f"POD {pod_id} is already registered")

    record = record_of(request, drop=("status",))
    record.update({"attachmentIds": [], "createdAt": tx.timestamp, "docType": "pod"})
    lifecycle.transition(tx, ENTITY, record, row.target)
    tx.put_index(POD_BY_OWNER, request.flexibilityServiceProviderId, pod_id)
    tx.put_index(POD_BY_DSO, request.distributionGridOperatorName, pod_id)
    return record


def load(tx: Tx, pod_id: str) -> dict[str, Any]:
    record = tx.get(POD, pod_id)
    if record is None:
        raise NotFound(f"POD {pod_id} is not registered")
    return record


def _pod_key(pod_id: object) -> list[tuple[str, ...]]:
    return [(POD, pod_id)] if is_key_part(pod_id) else []


def update(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx, *_pod_key(data.get("meteringPointId")))
    pod_id = data.get("meteringPointId")
    if not isinstance(pod_id, str) or not pod_id:
        raise InvalidArgument("POD update: field 'meteringPointId' is mandatory and missing")
    record = load(tx, pod_id)
    owner = record["flexibilityServiceProviderId"]
    act = lifecycle.check_act(tx, ENTITY, record, "update")
    require_same(
        f"POD {pod_id}",
        "flexibilityServiceProviderId",
        data.get("flexibilityServiceProviderId"),
        owner,
    )
    if "status" in data:
        raise InvalidArgument(
            f"POD {pod_id}: status changes through UpdatePodStatus, not UpdatePod"
        )

    merged = {k: v for k, v in record.items() if k in PodIn.model_fields and k != "status"}
    merged.update(data)
    request = build(PodIn, merged, f"POD {pod_id}")
    _check_parties(tx, request)

    # Rebuilt from the checked request, so a field set to null in the update is removed.
    new = {k: v for k, v in record.items() if k not in PodIn.model_fields or k == "status"}
    new.update(record_of(request, drop=("status",)))
    old_dso = record["distributionGridOperatorName"]
    lifecycle.commit_act(tx, act, new)
    if request.distributionGridOperatorName != old_dso:
        tx.del_index(POD_BY_DSO, old_dso, pod_id)
        tx.put_index(POD_BY_DSO, request.distributionGridOperatorName, pod_id)
    return new


def is_complete(record: dict[str, Any]) -> bool:
    """Complete once its mandatory fields (checked at registration) have an attachment."""
    return bool(record.get("attachmentIds"))


@lifecycle.guard(ENTITY, "complete")
def _complete(tx: Tx, record: dict[str, Any]) -> None:
    if not is_complete(record):
        raise WrongState(
            f"POD {record['meteringPointId']} is not complete; link an attachment before it "
            "can open"
        )


def save_assembling(tx: Tx, record: dict[str, Any]) -> None:
    """Write a POD whose parts changed, opening it if that made it complete."""
    if record["status"] == PodStatus.REGISTERED and is_complete(record):
        lifecycle.transition(tx, ENTITY, record, PodStatus.OPEN)
    else:
        tx.stamp(record)
        tx.put(POD, [record["meteringPointId"]], record)


def update_status(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx, *_pod_key(data.get("flexResourceId")))
    request = build(PodStatusIn, data, label_of("POD", data, "flexResourceId"))
    pod_id = request.flexResourceId
    try:
        target = enum_value(PodStatus, request.status)
    except ValueError as exc:
        raise InvalidArgument(f"POD {pod_id}: status {exc}") from None
    record = load(tx, pod_id)
    owner = record["flexibilityServiceProviderId"]
    require_same(
        f"POD {pod_id}", "flexibilityServiceProviderId", request.flexibilityServiceProviderId, owner
    )
    require_same(f"POD {pod_id}", "receiverId", request.receiverId, record["receiverId"])
    new = dict(record)

    def constraints_come_with_the_dso_decision(row: lifecycle.Transition) -> None:
        if request.constraints is None:
            return
        if row.who is not lifecycle.Who.GRID_DSO:
            raise InvalidArgument(f"POD {pod_id}: only the DSO's decision carries constraints")
        new["dsoConstraints"] = _constraints(tx, new, request.constraints)

    lifecycle.transition(
        tx,
        ENTITY,
        new,
        target,
        reason=request.reason,
        check=constraints_come_with_the_dso_decision,
    )
    return new


def set_constraints(tx: Tx, pod_id: str, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx, *_pod_key(pod_id))
    record = load(tx, pod_id)
    act = lifecycle.check_act(tx, ENTITY, record, "set constraints")
    constraints = build(DsoConstraints, data, f"constraints of POD {pod_id}")
    new = dict(record)
    new["dsoConstraints"] = _constraints(tx, new, constraints)
    lifecycle.commit_act(tx, act, new)
    return new


def _constraints(tx: Tx, record: dict[str, Any], constraints: DsoConstraints) -> dict[str, Any]:
    pod_id = record["meteringPointId"]
    for name in ("maximumFlexUp", "maximumFlexDown"):
        limit = getattr(constraints, name)
        if limit is not None and limit > record[name]:
            raise InvalidArgument(
                f"constraints of POD {pod_id}: {name} {limit:g} kW exceeds the POD's "
                f"{record[name]:g} kW"
            )
    data = record_of(constraints)
    data["setAt"] = tx.timestamp
    return data


def effective_flex(record: dict[str, Any]) -> tuple[float, float]:
    """The POD's flexibility up and down, within the DSO's static limits if it set any."""
    up, down = float(record["maximumFlexUp"]), float(record["maximumFlexDown"])
    limits = record.get("dsoConstraints") or {}
    if limits.get("maximumFlexUp") is not None:
        up = min(up, float(limits["maximumFlexUp"]))
    if limits.get("maximumFlexDown") is not None:
        down = min(down, float(limits["maximumFlexDown"]))
    return up, down


def read(tx: Tx, pod_id: str) -> dict[str, Any]:
    actor = resolve(tx, *_pod_key(pod_id))
    record = load(tx, pod_id)
    require_read(actor, ENTITY, pod_id, record)
    return record


def history(tx: Tx, pod_id: str) -> list[dict[str, Any]]:
    read(tx, pod_id)
    return tx.history(POD, pod_id)


def list_by(tx: Tx, index: str, value: str, page_size: int, bookmark: str) -> dict[str, Any]:
    actor = resolve(tx)
    if actor.role != Role.TSO:
        if index == POD_BY_OWNER and (actor.role != Role.BSP or value != actor.eic):
            raise Forbidden(f"{actor.msp_id} may list only its own PODs, not those of {value}")
        if index == POD_BY_DSO and (actor.role != Role.DSO or value != actor.eic):
            raise Forbidden(f"{actor.msp_id} may list only PODs in its own grid, not {value}")
    if index == POD_BY_STATUS:
        try:
            value = enum_value(PodStatus, value)
        except ValueError as exc:
            raise InvalidArgument(f"POD status {exc}") from None
    ids, next_bookmark, fetched = tx.index_page(index, [value], page_size, bookmark)
    tx.prefetch(*((POD, pod_id) for pod_id in ids))
    records = []
    for pod_id in ids:
        record = tx.get(POD, pod_id)
        if record is not None and can_read(actor, record):
            records.append(record)
    return page_result(records, next_bookmark, fetched)


def device_ids(tx: Tx, pod_id: str) -> list[str]:
    return list(tx.index_ids(DEVICE_BY_POD, pod_id))
