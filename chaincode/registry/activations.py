"""Activations: the TSO's set points against accepted offers; the BSP acknowledges them.

A set point asks a constant power (kW) in the offer's direction over whole 15-minute steps,
starting on a quarter hour at most 15 minutes after it is sent (the demo's tertiary-reserve-like
service). Together with the activations already sent against the same offer it must stay within
the offer's accepted quantity at every step. The activation names the PODs behind the UVAM and
their DSOs, who may read it and upload those PODs' measurements.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from . import aggregate, lifecycle, offers, periods
from .codes import Role
from .errors import AlreadyExists, Forbidden, InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import (
    ACTIVATION,
    ACTIVATION_BY_OFFER,
    ACTIVATION_BY_PERIOD,
    Actor,
    Tx,
    page_result,
)
from .market_models import ActivationIn
from .markettime import (
    MAX_LEAD,
    STEP,
    ActivationStatus,
    OfferStatus,
    market_now,
    parse,
    step_label,
    steps_between,
    text,
)
from .participants import resolve

ENTITY = lifecycle.ACTIVATION


def load(tx: Tx, activation_id: str) -> dict[str, Any]:
    record = tx.get(ACTIVATION, activation_id)
    if record is None:
        raise NotFound(f"activation {activation_id} does not exist")
    return record


def positions(period: dict[str, Any], record: dict[str, Any]) -> list[int]:
    """The period's step positions (1-based) the activation covers."""
    first = steps_between(parse(period["deliveryStart"]), parse(record["start"])) + 1
    return list(range(first, first + int(record["durationMinutes"]) // 15))


def _of_offer(tx: Tx, offer_id: str) -> list[dict[str, Any]]:
    ids = list(tx.index_ids(ACTIVATION_BY_OFFER, offer_id))
    tx.prefetch(*((ACTIVATION, i) for i in ids))
    return [r for r in (tx.get(ACTIVATION, i) for i in ids) if r is not None]


@lifecycle.guard(ENTITY, "within the accepted offer and the lead time")
def _within_offer(tx: Tx, record: dict[str, Any]) -> None:
    activation_id = record["activationId"]
    offer = offers.load(tx, record["offerId"])
    if offer["status"] != OfferStatus.ACCEPTED:
        raise WrongState(
            f"offer {offer['offerId']} is {offer['status']}; only an Accepted offer is activated"
        )
    period = periods.load(tx, offer["periodId"])
    start, end = parse(record["start"]), parse(record["end"])
    if start < parse(period["deliveryStart"]) or end > parse(period["deliveryEnd"]):
        raise InvalidArgument(
            f"activation {activation_id}: {record['start']} to {record['end']} is outside market "
            f"period {period['periodId']} ({period['deliveryStart']} to {period['deliveryEnd']})"
        )
    now = market_now(tx, period)
    if start < now:
        raise InvalidArgument(
            f"activation {activation_id} starts at {record['start']}, before the market time "
            f"{text(now)}; a set point is sent ahead of its start"
        )
    if start - now > MAX_LEAD:
        minutes = (start - now).total_seconds() / 60
        raise InvalidArgument(
            f"activation {activation_id} starts {minutes:g} minutes after it is sent (market "
            f"time {text(now)}); the lead time is at most {MAX_LEAD.seconds // 60} minutes"
        )
    accepted = {int(q["position"]): float(q["quantity"]) for q in offer["quantities"]}
    used: dict[int, float] = defaultdict(float)
    for other in _of_offer(tx, offer["offerId"]):
        for position in positions(period, other):
            used[position] += float(other["power"])
    power = float(record["power"])
    for position in positions(period, record):
        room = accepted.get(position, 0.0) - used[position]
        if power > room + 1e-9:
            when = step_label(parse(period["deliveryStart"]) + (position - 1) * STEP)
            raise InvalidArgument(
                f"activation {activation_id}: {power:g} kW at {when} exceeds what offer "
                f"{offer['offerId']} has left there: {max(room, 0.0):g} kW of the "
                f"{accepted.get(position, 0.0):g} kW accepted"
            )


@lifecycle.guard(ENTITY, "not ended")
def _not_ended(tx: Tx, record: dict[str, Any]) -> None:
    period = periods.load(tx, record["periodId"])
    now = market_now(tx, period)
    if now >= parse(record["end"]):
        raise WrongState(
            f"activation {record['activationId']} ended at {record['end']} (market time "
            f"{text(now)}); it can no longer be acknowledged"
        )


def send(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(ActivationIn, data, label_of("activation", data, "activationId", "offerId"))
    offer = offers.load(tx, request.offerId)
    activation_id = request.activationId or tx.derived_id("ACT")
    owner = offer["flexibilityServiceProviderId"]
    lifecycle.authorize(lifecycle.creation(ENTITY), activation_id, actor, owner)
    if tx.get(ACTIVATION, activation_id) is not None:
        raise AlreadyExists(f"activation {activation_id} already exists")
    period = periods.load(tx, offer["periodId"])
    start = parse(request.start)
    now = market_now(tx, period)
    members = aggregate.pods_of(tx, aggregate.active_relations(tx, offer["resourceGroupId"]))
    record: dict[str, Any] = {
        "activationId": activation_id,
        "createdAt": tx.timestamp,
        "direction": offer["direction"],
        "docType": "activation",
        "dsos": sorted({d for d in members.values() if d}),
        "durationMinutes": request.durationMinutes,
        "end": text(start + request.durationMinutes // 15 * STEP),
        "flexibilityServiceProviderId": owner,
        "leadMinutes": round((start - now).total_seconds() / 60, 2),
        "offerId": offer["offerId"],
        "periodId": offer["periodId"],
        "pods": sorted(members),
        "power": request.power,
        "resourceGroupId": offer["resourceGroupId"],
        "sentAt": text(now),
        "start": request.start,
    }
    lifecycle.transition(tx, ENTITY, record, ActivationStatus.SENT)
    tx.put_index(ACTIVATION_BY_PERIOD, offer["periodId"], activation_id)
    tx.put_index(ACTIVATION_BY_OFFER, offer["offerId"], activation_id)
    return record


def acknowledge(tx: Tx, activation_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    new = dict(load(tx, activation_id))

    def acknowledged(row: lifecycle.Transition) -> None:
        period = periods.load(tx, new["periodId"])
        new["acknowledgement"] = {"at": text(market_now(tx, period)), "by": actor.eic}

    lifecycle.transition(tx, ENTITY, new, ActivationStatus.ACKNOWLEDGED, check=acknowledged)
    return new


def can_read(actor: Actor, record: dict[str, Any]) -> bool:
    if actor.role == Role.TSO:
        return True
    if actor.role == Role.BSP:
        return bool(record["flexibilityServiceProviderId"] == actor.eic)
    return actor.role == Role.DSO and actor.eic in record.get("dsos", [])


def read(tx: Tx, activation_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = load(tx, activation_id)
    if not can_read(actor, record):
        raise Forbidden(
            f"activation {activation_id} is not visible to {actor.msp_id} ({actor.role} "
            f"{actor.eic})"
        )
    return record


def of_period(tx: Tx, period_id: str) -> list[dict[str, Any]]:
    ids = list(tx.index_ids(ACTIVATION_BY_PERIOD, period_id))
    tx.prefetch(*((ACTIVATION, i) for i in ids))
    return [r for r in (tx.get(ACTIVATION, i) for i in ids) if r is not None]


def list_by_period(tx: Tx, period_id: str, page_size: int, bookmark: str) -> dict[str, Any]:
    actor = resolve(tx)
    ids, next_bookmark, fetched = tx.index_page(
        ACTIVATION_BY_PERIOD, [period_id], page_size, bookmark
    )
    tx.prefetch(*((ACTIVATION, i) for i in ids))
    records = [
        r for r in (tx.get(ACTIVATION, i) for i in ids) if r is not None and can_read(actor, r)
    ]
    return page_result(records, next_bookmark, fetched)
