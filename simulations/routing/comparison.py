"""What a simulated day gives under each charging policy: every EV's answer and the power it
drew, the grid's power flows with it, and the figures the summary compares (transformer and
line loading, voltage, the drivers' energy and cost)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from simulations.routing.grid import GridRun
from simulations.routing.model import STEP_HOURS, FloatArray, Horizon

LABEL = {"nearest": "nearest charger", "cheapest": "routing service", "none": "no EVs"}


@dataclass
class PolicyOutcome:
    policy: str
    answers: list[dict[str, Any]]
    ev_kw: dict[str, FloatArray]
    run: GridRun | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def reserved(self) -> list[dict[str, Any]]:
        return [a for a in self.answers if a["status"] == "reserved"]

    def drivers(self) -> dict[str, float]:
        res = self.reserved
        charged = sum(a["energy_charged_kwh"] for a in res)
        v2g = sum(a["energy_v2g_kwh"] for a in res)
        cost = sum(a["cost_eur"] for a in res)
        net = charged - v2g
        return {
            "served": len(res),
            "not_served": len(self.answers) - len(res),
            "energy_charged_kwh": round(charged, 2),
            "energy_v2g_kwh": round(v2g, 2),
            "shortfall_kwh": round(sum(a["shortfall_kwh"] for a in res), 2),
            "cost_eur": round(cost, 2),
            "cost_eur_per_net_kwh": round(cost / net, 4) if net > 0 else 0.0,
        }


@dataclass
class Comparison:
    day: date
    seed: int
    evs: int
    horizon: Horizon
    base: GridRun
    outcomes: dict[str, PolicyOutcome]
    limits: dict[str, float]

    def grid_figures(self, run: GridRun) -> dict[str, Any]:
        over = run.trafo_loading_pct > 100.0
        return {
            "transformers": {
                name: {
                    "peak_loading_pct": round(float(run.trafo_loading_pct[i].max()), 1),
                    "hours_over_100pct": round(float(over[i].sum()) * STEP_HOURS, 2),
                }
                for i, name in enumerate(run.trafo_names)
            },
            "peak_transformer_loading_pct": round(float(run.trafo_loading_pct.max()), 1),
            "transformer_hours_over_100pct": round(float(over.sum()) * STEP_HOURS, 2),
            "peak_line_loading_pct": round(float(run.line_loading_pct.max()), 1),
            "line_hours_over_100pct": round(
                float((run.line_loading_pct > 100.0).any(axis=0).sum()) * STEP_HOURS, 2
            ),
            "min_voltage_pu": round(float(run.min_vm_pu.min()), 4),
        }

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "day": self.day.isoformat(),
            "evs": self.evs,
            "seed": self.seed,
            "no_evs": self.grid_figures(self.base),
        }
        for p, o in self.outcomes.items():
            assert o.run is not None
            out[p] = {"grid": self.grid_figures(o.run), "drivers": o.drivers()}
        n, c = out["nearest"]["drivers"], out["cheapest"]["drivers"]
        if n["cost_eur"] > 0:
            out["drivers_cost_change_pct"] = round((c["cost_eur"] / n["cost_eur"] - 1) * 100, 1)
        if n["cost_eur_per_net_kwh"] > 0:
            out["drivers_cost_per_kwh_change_pct"] = round(
                (c["cost_eur_per_net_kwh"] / n["cost_eur_per_net_kwh"] - 1) * 100, 1
            )
        return out
