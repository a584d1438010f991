"""UVAMs (resource groups): register, update while Open, status, qualification, reads.

A UVAM opens by itself once it has an active member, an attachment and a connection. At
submission and at qualification its qualified powers are checked against its members'
flexibility; the demo admits aggregates below the market's 1 MW and records that it did.
"""

from __future__ import annotations

from typing import Any

from . import aggregate, lifecycle
from .access import can_read, require_read, require_same
from .codes import MARKET_MINIMUM_KW, Role, UvamStatus, enum_value
from .errors import AlreadyExists, Forbidden, InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import UVAM, UVAM_BY_OWNER, UVAM_BY_STATUS, Tx, page_result
from .models import UvamIn, UvamStatusIn, record_of
from .participants import require_tso_receiver, resolve

ENTITY = lifecycle.UVAM


def register(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(UvamIn, data, label_of("UVAM", data, "resourceGroupId", "name"))
    uvam_id = request.resourceGroupId or tx.derived_id("UVAM")
    row = lifecycle.creation(ENTITY)
    lifecycle.authorize(row, uvam_id, actor, request.flexibilityServiceProviderId)
    require_tso_receiver(tx, f"UVAM {uvam_id}", request.receiverId)
    if tx.get(UVAM, uvam_id) is not None:
        raise AlreadyExists(f"UVAM {uvam_id} is already registered")

    record = record_of(request, drop=("status",))
    record.update(
        {
            "activeRelations": 0,
            "attachmentIds": [],
            "connection": False,
            "createdAt": tx.timestamp,
            "docType": "uvam",
            "resourceGroupId": uvam_id,
        }
    )
    lifecycle.transition(tx, ENTITY, record, row.target)
    tx.put_index(UVAM_BY_OWNER, request.flexibilityServiceProviderId, uvam_id)
    return record


def load(tx: Tx, uvam_id: str) -> dict[str, Any]:
    record = tx.get(UVAM, uvam_id)
    if record is None:
        raise NotFound(f"UVAM {uvam_id} is not registered")
    return record


def update(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx)
    uvam_id = data.get("resourceGroupId")
    if not isinstance(uvam_id, str) or not uvam_id:
        raise InvalidArgument("UVAM update: field 'resourceGroupId' is mandatory and missing")
    record = load(tx, uvam_id)
    owner = record["flexibilityServiceProviderId"]
    act = lifecycle.check_act(tx, ENTITY, record, "update")
    require_same(
        f"UVAM {uvam_id}",
        "flexibilityServiceProviderId",
        data.get("flexibilityServiceProviderId"),
        owner,
    )
    if "status" in data:
        raise InvalidArgument(f"UVAM {uvam_id}: status changes through UpdateUvamStatus")
    merged = {k: v for k, v in record.items() if k in UvamIn.model_fields and k != "status"}
    merged.update(data)
    request = build(UvamIn, merged, f"UVAM {uvam_id}")
    require_tso_receiver(tx, f"UVAM {uvam_id}", request.receiverId)

    new = {k: v for k, v in record.items() if k not in UvamIn.model_fields or k == "status"}
    new.update(record_of(request, drop=("status",)))
    lifecycle.commit_act(tx, act, new)
    return new


def is_complete(record: dict[str, Any]) -> bool:
    return bool(record["attachmentIds"]) and record["connection"] and record["activeRelations"] > 0


def missing_parts(record: dict[str, Any]) -> list[str]:
    parts = []
    if record["activeRelations"] <= 0:
        parts.append("a member POD or flex device")
    if not record["attachmentIds"]:
        parts.append("an attachment")
    if not record["connection"]:
        parts.append("a connection")
    return parts


@lifecycle.guard(ENTITY, "complete")
def _complete(tx: Tx, record: dict[str, Any]) -> None:
    if not is_complete(record):
        raise WrongState(
            f"UVAM {record['resourceGroupId']} is not complete; it needs "
            f"{', '.join(missing_parts(record))}"
        )


@lifecycle.guard(ENTITY, "members cover the qualified powers")
def _members_cover(tx: Tx, record: dict[str, Any]) -> None:
    _assess(tx, record)


def save_assembling(tx: Tx, record: dict[str, Any]) -> None:
    """Write a UVAM whose parts changed, opening it if that made it complete."""
    if record["status"] == UvamStatus.REGISTERED and is_complete(record):
        lifecycle.transition(tx, ENTITY, record, UvamStatus.OPEN)
    else:
        tx.stamp(record)
        tx.put(UVAM, [record["resourceGroupId"]], record)


def update_status(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(UvamStatusIn, data, label_of("UVAM", data, "resourceGroupId"))
    uvam_id = request.resourceGroupId
    try:
        target = enum_value(UvamStatus, request.status)
    except ValueError as exc:
        raise InvalidArgument(f"UVAM {uvam_id}: status {exc}") from None
    record = load(tx, uvam_id)
    owner = record["flexibilityServiceProviderId"]
    require_same(
        f"UVAM {uvam_id}",
        "flexibilityServiceProviderId",
        request.flexibilityServiceProviderId,
        owner,
    )
    new = dict(record)

    def qualification_recorded(row: lifecycle.Transition) -> None:
        if row.target == UvamStatus.QUALIFIED:
            # the guard checked the sizes; the assessment (its reads are cached) is kept
            new["qualification"] = {**_assess(tx, new), "at": tx.timestamp, "by": actor.eic}

    lifecycle.transition(
        tx, ENTITY, new, target, reason=request.reason, check=qualification_recorded
    )
    return new


def _assess(tx: Tx, record: dict[str, Any]) -> dict[str, Any]:
    """Check the qualified powers against the members' flexibility; say if the demo rule applied."""
    uvam_id = record["resourceGroupId"]
    relations = aggregate.active_relations(tx, uvam_id)
    up, down = aggregate.members_flex(tx, relations)
    for name, members, word in (
        ("maximumQualifiedPower", up, "up"),
        ("minimumQualifiedPower", down, "down"),
    ):
        if record[name] > members + 1e-9:
            raise InvalidArgument(
                f"UVAM {uvam_id}: {name} {record[name]:g} kW exceeds its members' flexibility "
                f"{word} of {members:g} kW"
            )
    size = max(record["maximumQualifiedPower"], record["minimumQualifiedPower"])
    assessment: dict[str, Any] = {
        "belowMarketMinimum": size < MARKET_MINIMUM_KW,
        "members": len(relations),
        "membersFlexDown": down,
        "membersFlexUp": up,
    }
    if size < MARKET_MINIMUM_KW:
        assessment["demoRule"] = (
            f"aggregate of {size:g} kW admitted below the {MARKET_MINIMUM_KW:g} kW market minimum "
            "(demo rule)"
        )
    return assessment


def read(tx: Tx, uvam_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = load(tx, uvam_id)
    require_read(actor, ENTITY, uvam_id, record)
    return record


def history(tx: Tx, uvam_id: str) -> list[dict[str, Any]]:
    read(tx, uvam_id)
    return tx.history(UVAM, uvam_id)


def list_by(tx: Tx, index: str, value: str, page_size: int, bookmark: str) -> dict[str, Any]:
    actor = resolve(tx)
    if index == UVAM_BY_OWNER and actor.role != Role.TSO and value != actor.eic:
        raise Forbidden(f"{actor.msp_id} may list only its own UVAMs, not those of {value}")
    if index == UVAM_BY_STATUS:
        try:
            value = enum_value(UvamStatus, value)
        except ValueError as exc:
            raise InvalidArgument(f"UVAM status {exc}") from None
    ids, next_bookmark, fetched = tx.index_page(index, [value], page_size, bookmark)
    records = [r for r in (tx.get(UVAM, u) for u in ids) if r is not None and can_read(actor, r)]
    return page_result(records, next_bookmark, fetched)
