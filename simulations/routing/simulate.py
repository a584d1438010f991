"""The fleet comparison: one emulated day sent to the routing service, and the same fleet sent
to the nearest free charger, on the same grid; each outcome checked by a power flow per slot.

Requests go through the service's HTTP API (the FastAPI app, in process) in arrival order. The
emulated drivers accept a partial charge when the target cannot be met in their stay.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from simulations.routing.app import create_app
from simulations.routing.comparison import LABEL, Comparison, PolicyOutcome
from simulations.routing.fleet import Trip, generate_fleet
from simulations.routing.grid import RomeGrid
from simulations.routing.model import FloatArray, GridModel
from simulations.routing.scenario import (
    DEFAULT_DAY,
    DEFAULT_EVS,
    DEFAULT_SEED,
    HORIZON_HOURS,
    horizon_for,
)
from simulations.routing.service import RoutingService

POLICIES = ("nearest", "cheapest")

Say = Callable[[str], None]


async def _send(app: Any, trips: list[Trip], policy: str, say: Say) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        for i, trip in enumerate(trips, 1):
            body = trip.request(policy) | {"accept_partial": True}
            r = await client.post("/v1/requests", json=body)
            if r.status_code != 200:
                raise RuntimeError(f"EV {trip.id}: the service answered {r.status_code}: {r.text}")
            answers.append(r.json())
            if i % 10 == 0 or i == len(trips):
                say(f"  {LABEL[policy]}: {i}/{len(trips)} requests answered")
    return answers


def _ev_power(service: RoutingService, model: GridModel) -> dict[str, FloatArray]:
    out = {c.id: np.zeros(model.horizon.steps) for c in model.clusters}
    for r in service.store.all():
        out[r.cluster_id][r.first_step : r.end_step] += r.net_kw
    return out


def _pf_progress(say: Say, what: str) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if done % 60 == 0 or done == total:
            say(f"  power flow {what}: {done}/{total} slots")

    return progress


def run_comparison(
    evs: int = DEFAULT_EVS,
    seed: int = DEFAULT_SEED,
    day: date = DEFAULT_DAY,
    say: Say = lambda _m: None,
) -> Comparison:
    grid = RomeGrid()
    horizon = horizon_for(day)
    say(
        f"grid: {len(grid.net.bus)} buses, {len(grid.net.trafo)} MV/LV transformers, "
        f"{len(grid.cluster_specs)} charger clusters; horizon {horizon.start:%Y-%m-%d %H:%M} "
        f"+{HORIZON_HOURS} h in 5-minute slots"
    )
    say("DSO forecast: power flow of the household load without EVs")
    model = grid.model(horizon, _pf_progress(say, "without EVs"))
    base = grid.run(horizon, {})
    say(f"fleet: {evs} EVs from datafev (seed {seed})")
    trips = generate_fleet(evs, day, seed, grid.household_positions())
    outcomes: dict[str, PolicyOutcome] = {}
    for policy in POLICIES:
        say(f"{LABEL[policy]}: sending the fleet's requests in arrival order")
        service = RoutingService(model)
        answers = asyncio.run(_send(create_app(service), trips, policy, say))
        outcome = PolicyOutcome(policy, answers, _ev_power(service, model))
        outcome.run = grid.run(
            horizon, outcome.ev_kw, _pf_progress(say, f"with the {LABEL[policy]}")
        )
        outcomes[policy] = outcome
    return Comparison(day, seed, evs, horizon, base, outcomes, grid.limits_kw())


def write_outputs(cmp: Comparison, out: Path, say: Say = lambda _m: None) -> list[Path]:
    # matplotlib is loaded when figures are drawn, not by every command that runs a day
    from simulations.routing.figures import plot_all

    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.json"
    summary.write_text(json.dumps(cmp.summary(), indent=2) + "\n")
    paths = [summary, *plot_all(cmp, out)]
    for p in paths:
        say(f"wrote {p}")
    return paths


def summary_text(s: dict[str, Any]) -> str:
    rows = [
        ("peak transformer loading", "peak_transformer_loading_pct", "%"),
        ("transformer hours over 100 %", "transformer_hours_over_100pct", "h"),
        ("peak line loading", "peak_line_loading_pct", "%"),
        ("line hours over 100 %", "line_hours_over_100pct", "h"),
        ("lowest bus voltage", "min_voltage_pu", "pu"),
    ]
    lines = [f"{s['evs']} EVs, {s['day']}, seed {s['seed']}", ""]
    lines.append(f"{'':34}{'no EVs':>12}{'nearest':>12}{'routing':>12}")
    for label, key, unit in rows:
        vals = [s["no_evs"][key], s["nearest"]["grid"][key], s["cheapest"]["grid"][key]]
        lines.append(f"{label + ' (' + unit + ')':34}" + "".join(f"{v:>12}" for v in vals))
    for name in s["no_evs"]["transformers"]:
        for key, label in (("peak_loading_pct", "peak %"), ("hours_over_100pct", "h > 100 %")):
            vals = [
                s["no_evs"]["transformers"][name][key],
                s["nearest"]["grid"]["transformers"][name][key],
                s["cheapest"]["grid"]["transformers"][name][key],
            ]
            lines.append(f"{'  ' + name + ' ' + label:34}" + "".join(f"{v:>12}" for v in vals))
    lines.append("")
    lines.append(f"{'drivers':34}{'':>12}{'nearest':>12}{'routing':>12}")
    for key, label in (
        ("served", "EVs served"),
        ("not_served", "EVs without a charger"),
        ("energy_charged_kwh", "energy charged (kWh)"),
        ("energy_v2g_kwh", "energy given back by V2G (kWh)"),
        ("shortfall_kwh", "energy short of targets (kWh)"),
        ("cost_eur", "total cost (EUR)"),
        ("cost_eur_per_net_kwh", "cost per net kWh (EUR)"),
    ):
        lines.append(
            f"{label:34}{'':>12}{s['nearest']['drivers'][key]:>12}{s['cheapest']['drivers'][key]:>12}"
        )
    if "drivers_cost_change_pct" in s:
        lines.append(
            f"drivers' cost with routing: {s['drivers_cost_change_pct']:+.1f} % in total, "
            f"{s.get('drivers_cost_per_kwh_change_pct', 0.0):+.1f} % per net kWh"
        )
    return "\n".join(lines)
