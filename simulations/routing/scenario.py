"""The default emulated day: which day, how many EVs, which seed, and the service's horizon."""

from __future__ import annotations

from datetime import date, datetime, time

from simulations.routing.model import ROME, Horizon

DEFAULT_DAY = date(2025, 3, 12)  # a Wednesday: the weekday tariff bands apply
DEFAULT_EVS = 60
DEFAULT_SEED = 1
HORIZON_START = time(6, 0)
HORIZON_HOURS = 30  # 06:00 to 12:00 the next day: the overnight stays end inside it


def horizon_for(day: date) -> Horizon:
    return Horizon(datetime.combine(day, HORIZON_START, tzinfo=ROME), HORIZON_HOURS * 12)
