"""The case study's parking lot: its settings, its EVs, the grid tariff.

A day in a parking lot of EVs on bidirectional chargers, in 15-minute slots. Each EV has a
battery of 40, 60, 80 or 100 kWh and arrives with a state of charge drawn from one of three
bands: 30-60 % (mostly future buyers), 80-95 % (mostly sellers) and 60-80 % (either, or
neutral); its role follows from the thresholds alone (eq. 1). Commuters arrive around 08:30 and
stay the working day; visitors arrive between 09:00 and 17:00 for two to five hours.

Energies are whole watt-hours and states of charge tenths of a percent, so that eqs. 2-3 are
exact integers (and equal, to the Wh, what the trading chaincode computes from the same
declaration).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .energy import Role, available_wh, required_wh, role_of

SLOT_MINUTES = 15
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
CAPACITIES_KWH = (40, 60, 80, 100)
# SoC bands of the draw, in tenths of a percent, and the share of EVs in each.
SOC_BANDS = {"low": (300, 600), "high": (800, 950), "middle": (600, 800)}
SOC_BAND_SHARES = (0.5, 0.4, 0.1)
COMMUTER_SHARE = 0.6


class Objective(StrEnum):
    """What the optimal matching maximises."""

    ENERGY = "energy"  # energy traded
    COST = "cost"  # buyers' saving against the grid tariff (= minimise their total cost)


class CaseSettings(BaseModel):
    """Everything that defines one run of the case study; checked once, at the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The LP has one column per pair of EVs parked together: 2,000 EVs are ~0.8 M columns,
    # ~12 s and ~0.6 GB; 5,000 would be 5 M columns, 4 minutes and 3 GB.
    evs: int = Field(100, ge=2, le=2000, description="EVs in the parking lot")
    seed: int = Field(1, ge=0, le=2**32 - 1, description="random seed of the fleet")
    buy_threshold_pct: int = Field(70, ge=0, le=100, description="T_b: buyer below this SoC")
    sell_threshold_pct: int = Field(75, ge=0, le=100, description="T_s: seller above this SoC")
    price_eur_per_kwh: Decimal = Field(
        Decimal("0.15"), gt=0, le=10, decimal_places=4, description="P: the P2P price"
    )
    charger_kw: int = Field(11, ge=1, le=350, description="power of every charger, kW")
    objective: Objective = Objective.COST

    @model_validator(mode="after")
    def _thresholds(self) -> CaseSettings:
        if self.buy_threshold_pct > self.sell_threshold_pct:
            raise ValueError(
                f"buy threshold {self.buy_threshold_pct} % is above the sell threshold "
                f"{self.sell_threshold_pct} %: an EV could be both buyer and seller"
            )
        return self

    @property
    def slot_wh(self) -> int:
        """Energy one charger moves in one slot at full power."""
        return self.charger_kw * 1000 * SLOT_MINUTES // 60


@dataclass(frozen=True)
class EV:
    """One EV's arrival in the lot, as declared (capacity, SoC) and as it behaves (stay)."""

    ev_id: str
    capacity_kwh: int
    soc_permille: int  # tenths of a percent: 423 is 42.3 %
    arrival: int  # slot index, 0 = 00:00
    departure: int  # first slot it is gone
    role: Role
    required_wh: int  # eq. 2 (buyers), else 0
    available_wh: int  # eq. 3 (sellers), else 0

    @property
    def soc_pct(self) -> Decimal:
        return Decimal(self.soc_permille) / 10

    def present(self, slot: int) -> bool:
        return self.arrival <= slot < self.departure


def grid_tariff(slot: int) -> Decimal:
    """Time-of-use grid price in EUR/kWh (Italian ARERA bands on a weekday).

    F1 08:00-19:00 at 0.30, F2 07:00-08:00 and 19:00-23:00 at 0.26, F3 nights at 0.22. An
    assumption of the case study; only its level against the P2P price matters here.
    """
    hour = slot * SLOT_MINUTES // 60
    if 8 <= hour < 19:
        return Decimal("0.30")
    if hour == 7 or 19 <= hour < 23:
        return Decimal("0.26")
    return Decimal("0.22")


def _slot(hours: float) -> int:
    return int(round(hours * 60 / SLOT_MINUTES))


def make_fleet(settings: CaseSettings) -> list[EV]:
    """The lot's EVs for this seed: same settings, same fleet, on any machine."""
    rng = np.random.default_rng(settings.seed)
    bands = list(SOC_BANDS.values())
    fleet = []
    width = len(str(settings.evs))
    for k in range(settings.evs):
        capacity = int(rng.choice(CAPACITIES_KWH))
        low, high = bands[int(rng.choice(len(bands), p=SOC_BAND_SHARES))]
        soc = int(rng.integers(low, high, endpoint=True))
        if rng.random() < COMMUTER_SHARE:
            arrival = _slot(float(np.clip(rng.normal(8.5, 0.75), 6.0, 11.0)))
            stay = _slot(float(np.clip(rng.normal(8.5, 1.0), 4.0, 11.0)))
        else:
            arrival = _slot(float(rng.uniform(9.0, 17.0)))
            stay = _slot(float(rng.uniform(2.0, 5.0)))
        role = role_of(soc, settings.buy_threshold_pct, settings.sell_threshold_pct)
        fleet.append(
            EV(
                ev_id=f"EV{k + 1:0{width}d}",
                capacity_kwh=capacity,
                soc_permille=soc,
                arrival=arrival,
                departure=min(arrival + max(stay, 1), SLOTS_PER_DAY),
                role=role,
                required_wh=required_wh(soc, capacity, settings.buy_threshold_pct)
                if role is Role.BUYER
                else 0,
                available_wh=available_wh(soc, capacity, settings.sell_threshold_pct)
                if role is Role.SELLER
                else 0,
            )
        )
    return fleet


def clock(slot: int) -> str:
    minutes = slot * SLOT_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
