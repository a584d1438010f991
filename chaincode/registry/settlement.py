"""Settlement: per verified activation, the amount due; per BSP and period, a statement.

The rule (docs/market.md), in euro, rounded to the cent (half up) at each amount:

- **remuneration** = min(delivered, requested) energy x the offer's price (EUR/MWh);
- **penalty** = the shortfall beyond a 10 % tolerance of the requested energy x the price x 1.5;
- **amount due** to the BSP = remuneration - penalty (negative: the BSP owes the TSO).

A statement covers every activation of the BSP in the period, all of which must be verified;
issuing it settles them. Its lines and totals live in the ``settlement`` collection, for that
BSP and the TSO only; the public record says only that it was issued and what it covers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import activations, lifecycle, periods
from .codes import Role
from .errors import AlreadyExists, Forbidden, NotFound, WrongState
from .fields import build, label_of
from .ledger import OFFER_PRICE, STATEMENT, STATEMENT_BY_PERIOD, STATEMENT_DETAIL, Tx
from .market_models import StatementIn
from .markettime import ActivationStatus, StatementStatus, market_now, text
from .participants import resolve

TOLERANCE = Decimal("0.10")
PENALTY_FACTOR = Decimal("1.5")
RULE = (
    "amount = min(delivered, requested) x price - max(0, requested - delivered - 10 % of "
    "requested) x price x 1.5; energies in kWh, prices in EUR/MWh, amounts rounded to the cent"
)
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def settle(requested_kwh: float, delivered_kwh: float, price_eur_mwh: float) -> dict[str, Any]:
    """One activation's line of a statement (pure arithmetic, in Decimal)."""
    requested, delivered = Decimal(str(requested_kwh)), Decimal(str(delivered_kwh))
    per_kwh = Decimal(str(price_eur_mwh)) / 1000
    paid = min(delivered, requested)
    remuneration = _cents(paid * per_kwh)
    penalised = max(Decimal(0), requested - paid - requested * TOLERANCE)
    penalty = _cents(penalised * per_kwh * PENALTY_FACTOR)
    return {
        "amount": float(remuneration - penalty),
        "deliveredKwh": float(delivered),
        "paidKwh": float(paid),
        "penalisedKwh": float(penalised),
        "penalty": float(penalty),
        "priceEurPerMwh": float(price_eur_mwh),
        "remuneration": float(remuneration),
        "requestedKwh": float(requested),
    }


def totals(lines: list[dict[str, Any]]) -> dict[str, float]:
    def total(name: str) -> float:
        return float(sum((Decimal(str(line[name])) for line in lines), Decimal(0)))

    return {
        "amount": total("amount"),
        "deliveredKwh": total("deliveredKwh"),
        "penalty": total("penalty"),
        "remuneration": total("remuneration"),
        "requestedKwh": total("requestedKwh"),
    }


def statement_id(period_id: str, bsp: str) -> str:
    return f"STM-{period_id}-{bsp}"


def _of_bsp(tx: Tx, period_id: str, bsp: str) -> list[dict[str, Any]]:
    return [
        a for a in activations.of_period(tx, period_id) if a["flexibilityServiceProviderId"] == bsp
    ]


@lifecycle.guard(lifecycle.STATEMENT, "every activation verified")
def _all_verified(tx: Tx, record: dict[str, Any]) -> None:
    for activation in _of_bsp(tx, record["periodId"], record["flexibilityServiceProviderId"]):
        if activation["status"] != ActivationStatus.VERIFIED:
            raise WrongState(
                f"activation {activation['activationId']} is {activation['status']}; a statement "
                f"of market period {record['periodId']} needs every activation of BSP "
                f"{record['flexibilityServiceProviderId']} Verified"
            )


def issue(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(StatementIn, data, label_of("statement of period", data, "periodId"))
    bsp = request.flexibilityServiceProviderId
    sid = statement_id(request.periodId, bsp)
    lifecycle.authorize(lifecycle.creation(lifecycle.STATEMENT), sid, actor, bsp)
    period = periods.load(tx, request.periodId)
    if tx.get(STATEMENT, sid) is not None:
        raise AlreadyExists(f"statement {sid} is already issued")
    covered = sorted(_of_bsp(tx, request.periodId, bsp), key=lambda a: str(a["start"]))
    record: dict[str, Any] = {
        "activationIds": [a["activationId"] for a in covered],
        "createdAt": tx.timestamp,
        "docType": "statement",
        "flexibilityServiceProviderId": bsp,
        "issuedAt": text(market_now(tx, period)),
        "lines": len(covered),
        "periodId": request.periodId,
        "statementId": sid,
    }
    lines = []
    prices: dict[str, dict[str, Any] | None] = {}
    for activation in covered:
        offer_id = activation["offerId"]
        if offer_id not in prices:
            prices[offer_id] = tx.get_private(OFFER_PRICE, offer_id)
        price = prices[offer_id]
        if price is None:
            raise NotFound(f"offer {offer_id} has no price in the settlement collection")
        check = activation.get("verification") or {}
        line = settle(
            float(check.get("requestedKwh", 0.0)),
            float(check.get("deliveredKwh", 0.0)),
            float(price["amount"]),
        )
        line.update(
            {
                "activationId": activation["activationId"],
                "direction": activation["direction"],
                "end": activation["end"],
                "offerId": offer_id,
                "passed": bool(check.get("passed")),
                "ratio": check.get("ratio"),
                "start": activation["start"],
            }
        )
        lines.append(line)
    detail = {
        "currency": "EUR",
        "lines": lines,
        "rule": RULE,
        "statementId": sid,
        "totals": totals(lines),
    }

    def settled(row: lifecycle.Transition) -> None:
        # Runs once the statement's own rules held (every activation Verified) and before it is
        # written: the activations are settled first, so the transaction's event is the
        # statement's.
        for activation in covered:
            moved = {**activation, "statementId": sid}
            lifecycle.transition(tx, lifecycle.ACTIVATION, moved, ActivationStatus.SETTLED)

    lifecycle.transition(tx, lifecycle.STATEMENT, record, StatementStatus.ISSUED, check=settled)
    tx.put_private(STATEMENT_DETAIL, [sid], detail)
    tx.put_index(STATEMENT_BY_PERIOD, request.periodId, sid)
    return record


def read(tx: Tx, sid: str) -> dict[str, Any]:
    """The statement with its lines and totals: for its BSP and the TSO only."""
    actor = resolve(tx)
    record = tx.get(STATEMENT, sid)
    if record is None:
        raise NotFound(f"statement {sid} is not issued")
    bsp = record["flexibilityServiceProviderId"]
    if not (actor.role == Role.TSO or (actor.role == Role.BSP and actor.eic == bsp)):
        raise Forbidden(
            f"statement {sid} is readable by BSP {bsp} and the TSO only; caller {actor.msp_id} "
            f"({actor.role} {actor.eic}) may not"
        )
    detail = tx.get_private(STATEMENT_DETAIL, sid) or {}
    return {**record, **detail}
