"""Verification of an activation against its UVAM's anchored measurements (docs/market.md).

The method, applied by the chaincode to the energy per 15-minute step that the anchors hold
(so anyone holding the series can redo it):

- **Baseline**: the aggregate's mean power over the last full 15-minute step that ended at or
  before the set point was sent: a persistence forecast made at the set point, from data the
  set point cannot have touched.
- **Response** per step: baseline minus measured power for an upward activation (the EVs draw
  less), measured minus baseline for a downward one.
- **Delivered** energy per step: the response, floored at 0 and capped at the requested power,
  times 0.25 h. Over-delivery earns nothing; one step's surplus does not cover another's gap.
- **Ratio**: delivered over requested energy; the activation **passes** at 90 % or more.
- **Consistency**: when the BSP anchored its devices' series, their sum must match the aggregate
  within 5 % (of at least 1 kWh) at every step used, or the activation fails. The DSO's POD
  series give a POD-level delivery, reported beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import activations, lifecycle, periods, series
from .errors import WrongState
from .ledger import Tx
from .markettime import (
    STEP,
    STEP_HOURS,
    ActivationStatus,
    FlowDirection,
    SeriesScope,
    market_now,
    parse,
    step_floor,
    steps_between,
    text,
)
from .participants import resolve

THRESHOLD = 0.90
CONSISTENCY = 0.05
CONSISTENCY_FLOOR_KWH = 1.0
METHOD = (
    "baseline: the aggregate's mean power in the last full 15-minute step ended at or before the "
    "set point was sent; delivered per step: the response (baseline minus measured power up, "
    "measured minus baseline down) within 0 and the requested power, times 0.25 h; passes at "
    f"{THRESHOLD:.0%} of the requested energy, devices matching the aggregate within "
    f"{CONSISTENCY:.0%}"
)


def baseline_step(sent_at: datetime) -> datetime:
    """The start of the last full step that ended at or before ``sent_at``."""
    return step_floor(sent_at) - STEP


def assess(
    direction: str, power_kw: float, baseline_kwh: float, window_kwh: list[float]
) -> dict[str, Any]:
    """Delivered against requested energy over the activation's steps (pure arithmetic)."""
    baseline_kw = baseline_kwh / STEP_HOURS
    sign = 1.0 if direction == FlowDirection.UP else -1.0
    steps, requested, delivered = [], 0.0, 0.0
    for energy in window_kwh:
        measured_kw = energy / STEP_HOURS
        response_kw = sign * (baseline_kw - measured_kw)
        step_delivered = min(max(response_kw, 0.0), power_kw) * STEP_HOURS
        steps.append(
            {
                "deliveredKwh": round(step_delivered, 3),
                "measuredKw": round(measured_kw, 3),
                "responseKw": round(response_kw, 3),
            }
        )
        requested += power_kw * STEP_HOURS
        delivered += step_delivered
    ratio = delivered / requested if requested else 0.0
    return {
        "baselineKw": round(baseline_kw, 3),
        "deliveredKwh": round(delivered, 3),
        "passed": ratio >= THRESHOLD - 1e-9,
        "ratio": round(ratio, 4),
        "requestedKwh": round(requested, 3),
        "steps": steps,
    }


def deviation(aggregate_kwh: list[float], parts_kwh: list[float]) -> float:
    """The largest relative gap, step by step, between an aggregate and the sum of its parts."""
    worst = 0.0
    for whole, parts in zip(aggregate_kwh, parts_kwh, strict=True):
        worst = max(worst, abs(parts - whole) / max(abs(whole), CONSISTENCY_FLOOR_KWH))
    return worst


def _energies(anchor: dict[str, Any], start: datetime, end: datetime) -> list[float] | None:
    """The anchor's step energies from ``start`` to ``end``, or None if it does not cover them."""
    first = steps_between(parse(anchor["start"]), start)
    last = steps_between(parse(anchor["start"]), end)
    if first < 0 or last > len(anchor["stepEnergies"]):
        return None
    return [float(e) for e in anchor["stepEnergies"][first:last]]


def _aggregate(tx: Tx, record: dict[str, Any]) -> dict[str, Any]:
    found = series.of_uvam(tx, record["periodId"], record["resourceGroupId"], SeriesScope.AGGREGATE)
    if not found:
        raise WrongState(
            f"activation {record['activationId']}: UVAM {record['resourceGroupId']} has no "
            f"aggregate series anchored for market period {record['periodId']}; the BSP uploads "
            "it first"
        )
    return found[0]


@lifecycle.guard(lifecycle.ACTIVATION, "ended and measured")
def _ended_and_measured(tx: Tx, record: dict[str, Any]) -> None:
    period = periods.load(tx, record["periodId"])
    now = market_now(tx, period)
    if now < parse(record["end"]):
        raise WrongState(
            f"activation {record['activationId']} ends at {record['end']} (market time "
            f"{text(now)}); it is verified once delivered"
        )
    anchor = _aggregate(tx, record)
    first = baseline_step(parse(record["sentAt"]))
    if _energies(anchor, first, parse(record["end"])) is None:
        raise WrongState(
            f"activation {record['activationId']}: aggregate series {anchor['seriesId']} covers "
            f"{anchor['start']} to {anchor['end']}, not the baseline step and window "
            f"{text(first)} to {record['end']}"
        )


def _sum(anchors: list[dict[str, Any]], start: datetime, end: datetime) -> tuple[list[float], int]:
    """Step sums of the anchors covering ``start``-``end``, and how many did not cover it."""
    total = [0.0] * steps_between(start, end)
    missing = 0
    for anchor in anchors:
        energies = _energies(anchor, start, end)
        if energies is None:
            missing += 1
            continue
        total = [a + b for a, b in zip(total, energies, strict=True)]
    return total, missing


def evaluate(tx: Tx, record: dict[str, Any]) -> dict[str, Any]:
    """The verification of an activation from the anchors on the ledger (after the guard)."""
    anchor = _aggregate(tx, record)
    first, end = baseline_step(parse(record["sentAt"])), parse(record["end"])
    used = _energies(anchor, first, end)
    assert used is not None  # the guard checked it
    direction, power = record["direction"], float(record["power"])
    n = int(record["durationMinutes"]) // 15  # the window is the last n steps of what is used
    result = assess(direction, power, used[0], used[-n:])
    result.update(
        {
            "baselineStep": {"end": text(first + STEP), "start": text(first)},
            "method": METHOD,
            "series": [{"seriesId": anchor["seriesId"], "sha256": anchor["sha256"]}],
            "threshold": THRESHOLD,
            "verifiedAt": text(market_now(tx, periods.load(tx, record["periodId"]))),
        }
    )
    key = (record["periodId"], record["resourceGroupId"])
    devices = series.of_uvam(tx, *key, SeriesScope.DEVICE)
    if devices:
        sums, missing = _sum(devices, first, end)
        gap = deviation(used, sums)
        result["devices"] = {
            "maxDeviation": round(gap, 4),
            "notCovering": missing,
            "series": len(devices),
        }
        result["series"] += [{"seriesId": d["seriesId"], "sha256": d["sha256"]} for d in devices]
        if gap > CONSISTENCY + 1e-9:
            result["passed"] = False
            result["failure"] = (
                f"the aggregate differs from the sum of its {len(devices)} device series by "
                f"{gap:.1%} at worst (at most {CONSISTENCY:.0%})"
            )
    pods = series.of_uvam(tx, *key, SeriesScope.POD)
    if pods:
        sums, missing = _sum(pods, first, end)
        at_pods = assess(direction, power, sums[0], sums[-n:])
        result["pods"] = {
            "deliveredKwh": at_pods["deliveredKwh"],
            "notCovering": missing,
            "ratio": at_pods["ratio"],
            "series": len(pods),
        }
        result["series"] += [{"seriesId": p["seriesId"], "sha256": p["sha256"]} for p in pods]
    if not result["passed"] and "failure" not in result:
        result["failure"] = (
            f"delivered {result['ratio']:.1%} of the requested energy; {THRESHOLD:.0%} passes"
        )
    return result


def verify(tx: Tx, activation_id: str) -> dict[str, Any]:
    resolve(tx)
    new = dict(activations.load(tx, activation_id))

    def measured(row: lifecycle.Transition) -> None:
        new["verification"] = evaluate(tx, new)

    lifecycle.transition(tx, lifecycle.ACTIVATION, new, ActivationStatus.VERIFIED, check=measured)
    return new
