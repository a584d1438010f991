"""One run of the case study: its numbers, the comparison of matchings, its CSV and JSON.

``run_case`` is everything but the figures and the ledger: the fleet, the optimal and greedy
matchings (and the optimum of the other objective, for the comparison), and the day each one
gives. The chosen matching (optimal, for the objective asked) is the one the figures, the CSV
and the ledger run use.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .energy import Role, kwh
from .matching import Matching, greedy, optimal
from .scenario import EV, CaseSettings, Objective, clock, make_fleet
from .schedule import Day, simulate_day

CSV_FIELDS = (
    "tradeId",
    "buyerId",
    "sellerId",
    "agreedKwh",
    "deliveredKwh",
    "priceEurPerKwh",
    "costEur",
    "status",
)


@dataclass(frozen=True)
class Outcome:
    """What one matching gives over the day."""

    label: str
    matching: Matching
    day: Day

    @property
    def agreed_wh(self) -> int:
        return self.matching.energy_wh

    @property
    def delivered_wh(self) -> int:
        return sum(d.delivered_wh for d in self.day.deliveries)

    @property
    def peak_kw(self) -> float:
        return float(self.day.with_p2p_kw.max())

    @property
    def buyers_eur(self) -> Decimal:
        return sum((b.total_eur for b in self.day.buyers), Decimal(0))

    @property
    def sellers_eur(self) -> Decimal:
        return sum((d.cost_eur for d in self.day.deliveries), Decimal(0))


@dataclass(frozen=True)
class Case:
    settings: CaseSettings
    fleet: tuple[EV, ...]
    chosen: Outcome
    compared: tuple[Outcome, ...]  # the chosen one first, then the others

    @property
    def day(self) -> Day:
        return self.chosen.day

    @property
    def buyers(self) -> list[EV]:
        return [ev for ev in self.fleet if ev.role is Role.BUYER]

    @property
    def sellers(self) -> list[EV]:
        return [ev for ev in self.fleet if ev.role is Role.SELLER]

    @property
    def grid_only_eur(self) -> Decimal:
        return sum((b.grid_only_eur for b in self.day.buyers), Decimal(0))

    def headline(self) -> dict[str, Any]:
        """The numbers the command prints and the README quotes."""
        day, c = self.day, self.chosen
        peak_before = float(day.grid_only_kw.max())
        peak_slot = int(day.grid_only_kw.argmax())
        required = sum(ev.required_wh for ev in self.buyers)
        available = sum(ev.available_wh for ev in self.sellers)
        saving = self.grid_only_eur - c.buyers_eur
        return {
            "evs": len(self.fleet),
            "buyers": len(self.buyers),
            "sellers": len(self.sellers),
            "neutral": len(self.fleet) - len(self.buyers) - len(self.sellers),
            "requiredKwh": float(kwh(required)),
            "availableKwh": float(kwh(available)),
            "trades": len(c.matching.trades),
            "agreedKwh": float(kwh(c.agreed_wh)),
            "deliveredKwh": float(kwh(c.delivered_wh)),
            "peakGridOnlyKw": round(peak_before, 1),
            "peakGridOnlyAt": clock(peak_slot),
            "peakWithP2pKw": round(c.peak_kw, 1),
            "peakReductionPct": round(100 * (1 - c.peak_kw / peak_before), 1)
            if peak_before
            else 0.0,
            "buyersGridOnlyEur": str(self.grid_only_eur),
            "buyersWithP2pEur": str(c.buyers_eur),
            "buyersSavingEur": str(saving),
            "buyersSavingPct": round(float(100 * saving / self.grid_only_eur), 1)
            if self.grid_only_eur
            else 0.0,
            "sellersRevenueEur": str(c.sellers_eur),
        }

    def comparison(self) -> list[dict[str, Any]]:
        rows = []
        for o in self.compared:
            rows.append(
                {
                    "matching": o.label,
                    "trades": len(o.matching.trades),
                    "agreedKwh": float(kwh(o.agreed_wh)),
                    "deliveredKwh": float(kwh(o.delivered_wh)),
                    "peakKw": round(o.peak_kw, 1),
                    "buyersEur": str(o.buyers_eur),
                    "sellersEur": str(o.sellers_eur),
                    "seconds": round(o.matching.seconds, 3),
                }
            )
        return rows


def run_case(settings: CaseSettings) -> Case:
    fleet = tuple(make_fleet(settings))
    other = Objective.COST if settings.objective is Objective.ENERGY else Objective.ENERGY
    other_settings = settings.model_copy(update={"objective": other})
    outcomes = []
    for label, matching, s in (
        (f"optimal, {settings.objective.value}", optimal(fleet, settings), settings),
        ("greedy", greedy(fleet, settings), settings),
        (f"optimal, {other.value}", optimal(fleet, other_settings), other_settings),
    ):
        outcomes.append(Outcome(label, matching, simulate_day(fleet, matching.trades, s)))
    return Case(settings, fleet, outcomes[0], tuple(outcomes))


def sweep(case: Case, more: int) -> list[dict[str, Any]]:
    """Each matching's mean outcome over this fleet and ``more`` others (the next seeds)."""
    cases = [case] + [
        run_case(case.settings.model_copy(update={"seed": case.settings.seed + k}))
        for k in range(1, more + 1)
    ]
    rows = []
    for n, first in enumerate(case.compared):
        outcomes = [c.compared[n] for c in cases]
        rows.append(
            {
                "matching": first.label,
                "buyersSavingEur": _mean(
                    float(c.grid_only_eur - o.buyers_eur)
                    for c, o in zip(cases, outcomes, strict=True)
                ),
                "deliveredPct": _mean(100 * o.delivered_wh / max(o.agreed_wh, 1) for o in outcomes),
                "peakKw": _mean(o.peak_kw for o in outcomes),
                "peakGridOnlyKw": _mean(float(c.day.grid_only_kw.max()) for c in cases),
                "trades": _mean(len(o.matching.trades) for o in outcomes),
                "seconds": _mean(o.matching.seconds for o in outcomes),
            }
        )
    return rows


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items)


def trade_rows(case: Case, prefix: str = "") -> list[dict[str, str]]:
    """The chosen matching's trades as the ledger holds them once confirmed."""
    price = case.settings.price_eur_per_kwh
    return [
        {
            "tradeId": prefix + d.trade.trade_id,
            "buyerId": prefix + d.trade.buyer,
            "sellerId": prefix + d.trade.seller,
            "agreedKwh": str(kwh(d.trade.amount_wh)),
            "deliveredKwh": str(kwh(d.delivered_wh)),
            "priceEurPerKwh": str(price),
            "costEur": str(d.cost_eur),
            # Nothing delivered: the operator rejects the trade rather than confirm zero.
            "status": "Confirmed" if d.delivered_wh else "Rejected",
        }
        for d in case.day.deliveries
    ]


def write_csv(rows: Sequence[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def write_summary(case: Case, path: Path, extra: dict[str, Any] | None = None) -> None:
    summary = {
        "settings": json.loads(case.settings.model_dump_json()),
        "headline": case.headline(),
        "comparison": case.comparison(),
        **(extra or {}),
    }
    path.write_text(json.dumps(summary, indent=2) + "\n")
