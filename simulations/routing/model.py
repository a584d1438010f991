"""What the routing service knows of the grid: the time grid, the constrained elements with their
limits and load forecasts, and the charger clusters (CPO sites) behind them.

These are plain values: `grid.py` builds them from a pandapower power flow, tests build small
ones by hand, and the service never imports pandapower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

ROME = ZoneInfo("Europe/Rome")
STEP_MINUTES = 5
STEP_HOURS = STEP_MINUTES / 60.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Horizon:
    """The service's time grid: `steps` slots of five minutes from `start` (time-zone aware)."""

    start: datetime
    steps: int

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("Horizon.start must carry a time zone")
        if self.steps <= 0:
            raise ValueError(f"Horizon.steps must be positive, got {self.steps}")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=STEP_MINUTES * self.steps)

    def slot_start(self, step: int) -> datetime:
        return (self.start + timedelta(minutes=STEP_MINUTES * step)).astimezone(ROME)

    def step_at_or_after(self, when: datetime) -> int:
        """The first slot that starts at or after `when` (a stay uses whole slots only)."""
        minutes = (when - self.start).total_seconds() / 60.0
        return math.ceil(minutes / STEP_MINUTES - 1e-9)

    def step_at_or_before(self, when: datetime) -> int:
        """The slot boundary at or before `when` (a stay's last slot ends by its departure)."""
        minutes = (when - self.start).total_seconds() / 60.0
        return math.floor(minutes / STEP_MINUTES + 1e-9)

    def hours(self) -> FloatArray:
        """Each slot's start in hours from the horizon's start (for plots)."""
        return np.arange(self.steps, dtype=np.float64) * STEP_HOURS


@dataclass(frozen=True)
class Element:
    """A constrained grid element: an MV/LV transformer or the head of an LV feeder.

    `limit_kw` is the DSO's upper limit on active power through it; `forecast_kw` the DSO's load
    forecast through it, one value per slot of the horizon, without any EV charging.
    """

    id: str
    kind: str  # "transformer" | "line"
    name: str
    limit_kw: float
    forecast_kw: FloatArray = field(repr=False)


@dataclass(frozen=True)
class Charger:
    id: str
    power_kw: float  # the same limit both ways: every emulated charger is bidirectional


@dataclass(frozen=True)
class Cluster:
    """A CPO site: a few chargers on one LV bus, behind the elements listed (transformer first)."""

    id: str
    name: str
    lat: float
    lon: float
    element_ids: tuple[str, ...]
    chargers: tuple[Charger, ...]
    bus: int | None = None  # the pandapower bus the chargers load, when built from a network


@dataclass(frozen=True)
class GridModel:
    horizon: Horizon
    elements: dict[str, Element]
    clusters: tuple[Cluster, ...]

    def __post_init__(self) -> None:
        ids = [c.id for c in self.clusters]
        if len(set(ids)) != len(ids):
            raise ValueError("cluster ids must be unique")
        for c in self.clusters:
            for eid in c.element_ids:
                if eid not in self.elements:
                    raise ValueError(f"cluster {c.id} names element {eid!r}, which the grid lacks")
        for e in self.elements.values():
            if e.forecast_kw.shape != (self.horizon.steps,):
                raise ValueError(
                    f"element {e.id}: forecast has {e.forecast_kw.shape[0]} values, "
                    f"the horizon {self.horizon.steps} slots"
                )

    def cluster(self, cluster_id: str) -> Cluster:
        for c in self.clusters:
            if c.id == cluster_id:
                return c
        raise KeyError(cluster_id)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
