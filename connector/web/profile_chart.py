"""An offer's kW per step drawn as bars: inline SVG geometry, no script, so the page shows its
profile at a glance (each bar's title names the step, its time and its kW)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.schemas.market import STEP

STEP_WIDTH = 4.0  # SVG units per step; the picture scales to the page
HEIGHT = 60.0  # SVG units for the tallest bar
TICK_EVERY = 24  # a time under the axis every six hours of steps


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    peak: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def _start(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def profile_chart(quantities: list[dict[str, Any]], delivery_start: Any) -> Chart | None:
    """The bars of `quantities` (the ledger's per-step records) over the period's steps, from
    the delivery start; None when there is nothing to draw."""
    steps = {int(q["position"]): float(q["quantity"]) for q in quantities if "position" in q}
    if not steps:
        return None
    last = max(steps)
    peak = max(steps.values())
    start = _start(delivery_start)
    bars = []
    for position in range(1, last + 1):
        kw = steps.get(position, 0.0)
        height = HEIGHT * kw / peak if peak > 0 else 0.0
        when = f" · {(start + (position - 1) * STEP):%H:%M} UTC" if start else ""
        bars.append(
            Bar(
                x=(position - 1) * STEP_WIDTH,
                y=HEIGHT - height,
                height=height,
                title=f"step {position}{when}: {kw:g} kW",
            )
        )
    ticks = tuple(
        Tick(x=(position - 1) * STEP_WIDTH, label=f"{(start + (position - 1) * STEP):%H:%M}")
        for position in range(1, last + 1, TICK_EVERY)
        if start is not None
    )
    return Chart(last * STEP_WIDTH, HEIGHT, peak, tuple(bars), ticks)
