"""Offers: a Qualified UVAM's availability per 15-minute step, in one direction, at a price.

The BSP submits while the period's gate is open, one live offer per UVAM, period and
direction; it may withdraw it until the gate closes. After the gate the TSO accepts or rejects.
The price is private: it arrives as transient data and is kept in the ``settlement`` collection
(the TSO and this BSP only), so neither the block nor the DSO's peer ever holds it.
"""

from __future__ import annotations

from typing import Any

from chaincode.runtime.arguments import load_json

from . import lifecycle, periods, uvams
from .access import can_read, require_read, require_same
from .codes import UvamStatus, enum_value
from .errors import AlreadyExists, Forbidden, InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import (
    OFFER,
    OFFER_BY_PERIOD,
    OFFER_PRICE,
    OFFER_SLOT,
    Tx,
    page_result,
)
from .market_models import OfferIn, OfferStatusIn, PriceIn
from .markettime import STEP, FlowDirection, OfferStatus, market_now, parse, step_label, text
from .participants import resolve

ENTITY = lifecycle.OFFER
# offers still holding their slot (one per UVAM, period and direction)
LIVE = frozenset({OfferStatus.SUBMITTED, OfferStatus.ACCEPTED})


def qualified_power(uvam: dict[str, Any], direction: str) -> tuple[float, str]:
    """The UVAM's qualified power in ``direction`` (kW) and how refusals name it."""
    if direction == FlowDirection.UP:
        return float(uvam["maximumQualifiedPower"]), "up (maximumQualifiedPower)"
    return float(uvam["minimumQualifiedPower"]), "down (minimumQualifiedPower)"


def load(tx: Tx, offer_id: str) -> dict[str, Any]:
    record = tx.get(OFFER, offer_id)
    if record is None:
        raise NotFound(f"offer {offer_id} does not exist")
    return record


@lifecycle.guard(ENTITY, "gate open")
def _gate_open(tx: Tx, record: dict[str, Any]) -> None:
    period = periods.load(tx, record["periodId"])
    if not periods.gate_open(tx, period):
        raise WrongState(
            f"market period {period['periodId']} closed for offers at {period['gateClosure']} "
            f"(market time {text(market_now(tx, period))}); offer {record['offerId']} comes "
            "too late"
        )


@lifecycle.guard(ENTITY, "qualified UVAM, gate open")
def _may_submit(tx: Tx, record: dict[str, Any]) -> None:
    uvam = uvams.load(tx, record["resourceGroupId"])
    if uvam["status"] != UvamStatus.QUALIFIED:
        raise WrongState(
            f"UVAM {uvam['resourceGroupId']} is {uvam['status']}; only a Qualified UVAM offers "
            "flexibility"
        )
    _gate_open(tx, record)


@lifecycle.guard(ENTITY, "gate closed")
def _gate_closed(tx: Tx, record: dict[str, Any]) -> None:
    period = periods.load(tx, record["periodId"])
    now = market_now(tx, period)
    if periods.gate_open(tx, period):
        raise WrongState(
            f"offers of market period {period['periodId']} are decided after its gate closes at "
            f"{period['gateClosure']} (market time {text(now)})"
        )
    if now >= parse(period["deliveryEnd"]):
        raise WrongState(
            f"market period {period['periodId']} ended at {period['deliveryEnd']}; its offers "
            "are no longer decided"
        )


def _price(tx: Tx, offer_id: str) -> PriceIn:
    raw = tx.transient("price")
    if raw is None:
        raise InvalidArgument(
            f"offer {offer_id}: its price is missing; send it as the transient field 'price' "
            '({"amount": EUR/MWh, "currency": "EUR"}), never as an argument that every channel '
            "member reads in the block"
        )
    return build(PriceIn, load_json(raw, "SubmitOffer", "price"), f"price of offer {offer_id}")


def _check_quantities(
    offer_id: str, request: OfferIn, period: dict[str, Any], uvam: dict[str, Any]
) -> None:
    limit, word = qualified_power(uvam, request.direction)
    start = parse(period["deliveryStart"])
    for q in request.quantities:
        if q.position > period["steps"]:
            raise InvalidArgument(
                f"offer {offer_id}: position {q.position} is beyond market period "
                f"{period['periodId']}'s {period['steps']} steps"
            )
        if q.quantity > limit + 1e-9:
            when = step_label(start + (q.position - 1) * STEP)
            raise InvalidArgument(
                f"offer {offer_id}: {q.quantity:g} kW at position {q.position} ({when}) exceeds "
                f"UVAM {uvam['resourceGroupId']}'s qualified power {word} of {limit:g} kW"
            )


def submit(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(OfferIn, data, label_of("offer", data, "offerId", "resourceGroupId"))
    offer_id = request.offerId or tx.derived_id("OFF")
    uvam = uvams.load(tx, request.resourceGroupId)
    owner = uvam["flexibilityServiceProviderId"]
    lifecycle.authorize(lifecycle.creation(ENTITY), offer_id, actor, owner)
    require_same(
        f"offer {offer_id}",
        "flexibilityServiceProviderId",
        request.flexibilityServiceProviderId,
        owner,
    )
    period = periods.load(tx, request.periodId)
    _check_quantities(offer_id, request, period, uvam)
    price = _price(tx, offer_id)
    if tx.get(OFFER, offer_id) is not None:
        raise AlreadyExists(f"offer {offer_id} already exists")
    slot = (request.periodId, request.resourceGroupId, request.direction.value)
    taken = tx.get(OFFER_SLOT, *slot)
    if taken is not None:
        raise AlreadyExists(
            f"UVAM {request.resourceGroupId} already has offer {taken['offerId']} in market "
            f"period {request.periodId}, direction {request.direction.value}; one offer per "
            "period and direction (withdraw it first)"
        )

    record: dict[str, Any] = {
        "createdAt": tx.timestamp,
        "deliveryEnd": period["deliveryEnd"],
        "deliveryStart": period["deliveryStart"],
        "direction": request.direction.value,
        "docType": "offer",
        "flexibilityServiceProviderId": owner,
        "offerId": offer_id,
        "periodId": request.periodId,
        "quantities": [
            q.model_dump() for q in sorted(request.quantities, key=lambda q: q.position)
        ],
        "resourceGroupId": request.resourceGroupId,
    }
    lifecycle.transition(tx, ENTITY, record, OfferStatus.SUBMITTED)
    tx.put(OFFER_SLOT, slot, {"offerId": offer_id})
    tx.put_index(OFFER_BY_PERIOD, request.periodId, offer_id)
    tx.put_private(
        OFFER_PRICE,
        [offer_id],
        {"amount": price.amount, "currency": price.currency, "offerId": offer_id, "unit": "MWH"},
    )
    return record


def update_status(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx)
    request = build(OfferStatusIn, data, label_of("offer", data, "offerId"))
    try:
        target = enum_value(OfferStatus, request.status)
    except ValueError as exc:
        raise InvalidArgument(f"offer {request.offerId}: status {exc}") from None
    new = dict(load(tx, request.offerId))
    lifecycle.transition(tx, ENTITY, new, target, reason=request.reason)
    if target not in LIVE:  # a withdrawn or rejected offer frees its slot
        tx.del_index(OFFER_SLOT, new["periodId"], new["resourceGroupId"], new["direction"])
    return new


def read(tx: Tx, offer_id: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = load(tx, offer_id)
    require_read(actor, "offer", offer_id, record)
    return record


def price(tx: Tx, offer_id: str) -> dict[str, Any]:
    """The offer's private price: for its BSP and the TSO only."""
    actor = resolve(tx)
    record = load(tx, offer_id)
    if not can_read(actor, record):
        raise Forbidden(
            f"the price of offer {offer_id} is for BSP {record['flexibilityServiceProviderId']} "
            f"and the TSO only; caller {actor.msp_id} ({actor.role}) may not read it"
        )
    stored = tx.get_private(OFFER_PRICE, offer_id)
    if stored is None:
        raise NotFound(f"offer {offer_id} has no price in the settlement collection")
    return stored


def list_by_period(tx: Tx, period_id: str, page_size: int, bookmark: str) -> dict[str, Any]:
    actor = resolve(tx)
    ids, next_bookmark, fetched = tx.index_page(OFFER_BY_PERIOD, [period_id], page_size, bookmark)
    tx.prefetch(*((OFFER, i) for i in ids))
    records = [r for r in (tx.get(OFFER, i) for i in ids) if r is not None and can_read(actor, r)]
    return page_result(records, next_bookmark, fetched)
