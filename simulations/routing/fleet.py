"""The emulated EV fleet of one day: arrivals, departures, states of charge and EV models drawn
by datafev (RWTH Aachen's EV scenario generator, `generate_fleet_from_conditional_pdfs`) from the
distributions written down here; where each driver is, where they want to park, how far they
look and whether they consent to V2G are drawn by this module.

Distributions (all times local to Rome, drawn on a five-minute grid):

* arrival and departure windows, as pairs with probabilities (`STAY_PAIRS`): residents coming home
  in the evening and leaving the next morning (50 %), daytime visitors for one to eight hours
  (35 %), evening visitors (15 %); uniform inside each window; at least one hour between arrival
  and departure (datafev's `diff_arr_dep_in_min`);
* arrival and departure state of charge, as pairs of ranges with probabilities (`SOC_PAIRS`),
  uniform inside each range;
* EV model: the shares of `vehicles.CATALOGUE`;
* search centre: a building of the area (a random LV bus) plus up to 150 m, uniform on the disc;
  the EV's position 0.5 to 3 km from it in a uniform direction; search radius uniform 0.8-1.5 km;
* V2G: half of the drivers whose car can give energy back consent, for 5-15 kWh (uniform).

datafev draws from numpy's global generator; it is seeded with the fleet's seed for the call and
restored afterwards, so the same seed gives the same fleet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from simulations.routing.model import ROME
from simulations.routing.vehicles import CATALOGUE

# window id -> (start, end) as (day offset, hour, minute)
WINDOWS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "morning": ((0, 7, 0), (0, 10, 0)),
    "midday": ((0, 10, 0), (0, 14, 0)),
    "afternoon": ((0, 14, 0), (0, 17, 0)),
    "evening": ((0, 17, 0), (0, 20, 0)),
    "late": ((0, 20, 0), (0, 23, 0)),
    "noon-out": ((0, 11, 0), (0, 14, 0)),
    "afternoon-out": ((0, 14, 0), (0, 18, 0)),
    "evening-out": ((0, 18, 0), (0, 21, 0)),
    "night-out": ((0, 21, 0), (0, 23, 55)),
    "next-morning": ((1, 6, 30), (1, 9, 30)),
}
STAY_PAIRS: dict[tuple[str, str], float] = {
    ("evening", "next-morning"): 0.30,
    ("late", "next-morning"): 0.20,
    ("morning", "noon-out"): 0.10,
    ("morning", "afternoon-out"): 0.08,
    ("midday", "afternoon-out"): 0.10,
    ("afternoon", "evening-out"): 0.07,
    ("afternoon", "night-out"): 0.05,
    ("evening", "night-out"): 0.10,
}
SOC_RANGES: dict[str, tuple[float, float]] = {
    "low": (0.10, 0.30),
    "mid": (0.30, 0.50),
    "high": (0.50, 0.70),
    "most": (0.70, 0.90),
    "full": (0.90, 1.00),
}
SOC_PAIRS: dict[tuple[str, str], float] = {
    ("low", "most"): 0.20,
    ("low", "full"): 0.15,
    ("mid", "most"): 0.25,
    ("mid", "full"): 0.15,
    ("high", "most"): 0.15,
    ("high", "full"): 0.10,
}
V2G_CONSENT = 0.5
V2G_ENERGY_KWH = (5.0, 15.0)
RADIUS_KM = (0.8, 1.5)
CENTRE_JITTER_KM = 0.15
DRIVE_IN_KM = (0.5, 3.0)


@dataclass(frozen=True)
class Trip:
    id: int
    model: str
    arrival: datetime
    departure: datetime
    soc_percent: float
    target_soc_percent: float
    position: tuple[float, float]
    centre: tuple[float, float]
    radius_km: float
    v2g: bool
    v2g_energy_kwh: float

    def request(self, policy: str) -> dict[str, Any]:
        """The trip as the routing API's request body."""
        return {
            "vehicle": {"model": self.model},
            "position": {"lat": self.position[0], "lon": self.position[1]},
            "search_centre": {"lat": self.centre[0], "lon": self.centre[1]},
            "soc_percent": self.soc_percent,
            "target_soc_percent": self.target_soc_percent,
            "radius_km": self.radius_km,
            "arrival": self.arrival.isoformat(),
            "departure": self.departure.isoformat(),
            "v2g": self.v2g,
            "v2g_energy_kwh": self.v2g_energy_kwh,
            "policy": policy,
        }


def _at(day: date, spec: tuple[int, int, int]) -> datetime:
    d, hh, mm = spec
    return datetime.combine(day + timedelta(days=d), time(hh, mm))


def _datafev_fleet(n: int, day: date, seed: int) -> Any:
    from datafev.routines.scenario_generation.sceneration import (
        generate_fleet_from_conditional_pdfs,
    )

    times = {w: [_at(day, a), _at(day, b)] for w, (a, b) in WINDOWS.items()}
    ev_dict = {
        m.name: {
            "BatteryCapacity(kWh)": m.battery_kwh,
            "MaxChargingPower(kW)": m.charge_kw,
            "MaxFastChargingPower(kW)": m.charge_kw,
            "Probability": m.fleet_share,
        }
        for m in CATALOGUE.values()
    }
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return generate_fleet_from_conditional_pdfs(
            times_dict=times,
            times_prob_dict=STAY_PAIRS,
            soc_dict={k: list(v) for k, v in SOC_RANGES.items()},
            soc_prob_dict=SOC_PAIRS,
            ev_dict=ev_dict,
            number_of_evs=n,
            endtime=_at(day, (2, 0, 0)),
            timedelta_in_min=5,
            diff_arr_dep_in_min=60,
        )
    finally:
        np.random.set_state(state)


def _move(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    return (
        lat + km * math.cos(bearing) / 111.32,
        lon + km * math.sin(bearing) / (111.32 * math.cos(math.radians(lat))),
    )


def generate_fleet(
    n: int, day: date, seed: int, buildings: list[tuple[float, float]]
) -> list[Trip]:
    """`n` trips arriving on `day`, in arrival order."""
    if n <= 0:
        raise ValueError(f"the fleet needs at least one EV, got {n}")
    if not buildings:
        raise ValueError("the fleet needs at least one building to head for")
    df = _datafev_fleet(n, day, seed)
    rng = np.random.default_rng(seed + 1)
    trips: list[Trip] = []
    for i, row in enumerate(df.itertuples(index=False)):
        model = str(row.Model)
        spec = CATALOGUE[model]
        # datafev stamps its naive times "GMT+0"; they are Rome's local times
        arrival = row.ArrivalTime.to_pydatetime().replace(tzinfo=None).replace(tzinfo=ROME)
        departure = row.DepartureTime.to_pydatetime().replace(tzinfo=None).replace(tzinfo=ROME)
        b = buildings[int(rng.integers(len(buildings)))]
        centre = _move(*b, rng.uniform(0, 2 * math.pi), CENTRE_JITTER_KM * math.sqrt(rng.uniform()))
        position = _move(*centre, rng.uniform(0, 2 * math.pi), rng.uniform(*DRIVE_IN_KM))
        v2g = spec.discharge_kw > 0 and rng.uniform() < V2G_CONSENT
        energy = round(float(rng.uniform(*V2G_ENERGY_KWH)), 1) if v2g else 0.0
        soc = round(float(row.ArrivalSoC) * 100.0, 1)
        target = max(soc, round(float(row.DepartureSoC) * 100.0, 1))
        trips.append(
            Trip(
                id=i + 1,
                model=model,
                arrival=arrival,
                departure=departure,
                soc_percent=soc,
                target_soc_percent=target,
                position=position,
                centre=centre,
                radius_km=round(float(rng.uniform(*RADIUS_KM)), 2),
                v2g=v2g,
                v2g_energy_kwh=min(energy, spec.battery_kwh),
            )
        )
    trips.sort(key=lambda t: (t.arrival, t.id))
    return [replace(t, id=i + 1) for i, t in enumerate(trips)]
