"""Prices: the CPOs' time-of-use tariff and the smart-bidding rule that raises it where the grid
is expected to be overloaded.

Smart bidding is the individual dynamic pricing of datafev (`algorithms/cluster/pricing_rule.idp`,
the rule EvRich uses): in a slot where the load expected through any element a cluster sits behind
(the DSO's forecast plus the schedules already committed there) exceeds that element's upper limit,
the charging price becomes the tariff's highest price plus a mark-up per kW of the largest excess
(0.05 EUR/kWh per kW by default); elsewhere it is the time-of-use price. Energy given back by V2G is
paid at a share of the charging price of the same slot (90 % by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from simulations.routing.model import ROME, FloatArray, Horizon

DEFAULT_MARKUP_EUR_PER_KWH_PER_KW = 0.05
DEFAULT_V2G_SHARE = 0.9


@dataclass(frozen=True)
class TouTariff:
    """Three bands, as Italian retail tariffs have them (ARERA's F1, F2, F3), in EUR/kWh.

    F1: Monday-Friday 08:00-19:00. F2: Monday-Friday 07:00-08:00 and 19:00-23:00, Saturday
    07:00-23:00. F3: every night 23:00-07:00 and all Sunday. Local time of Rome.
    """

    f1: float = 0.55
    f2: float = 0.48
    f3: float = 0.40

    def __post_init__(self) -> None:
        for name in ("f1", "f2", "f3"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TouTariff.{name} must be a positive price in EUR/kWh")

    def band(self, weekday: int, hour: int) -> str:
        if weekday == 6 or hour >= 23 or hour < 7:
            return "F3"
        if weekday == 5:
            return "F2"
        return "F1" if 8 <= hour < 19 else "F2"

    def price(self, weekday: int, hour: int) -> float:
        return float({"F1": self.f1, "F2": self.f2, "F3": self.f3}[self.band(weekday, hour)])

    def prices(self, horizon: Horizon) -> FloatArray:
        """The tariff for each slot of the horizon."""
        out = np.empty(horizon.steps, dtype=np.float64)
        for step in range(horizon.steps):
            t = horizon.slot_start(step).astimezone(ROME)
            out[step] = self.price(t.weekday(), t.hour)
        return out


@dataclass(frozen=True)
class PricingRule:
    markup: float = DEFAULT_MARKUP_EUR_PER_KWH_PER_KW
    v2g_share: float = DEFAULT_V2G_SHARE

    def __post_init__(self) -> None:
        if self.markup < 0:
            raise ValueError(f"markup must be at least 0 EUR/kWh per kW, got {self.markup}")
        if not 0 <= self.v2g_share <= 1:
            raise ValueError(f"v2g_share must be within 0..1, got {self.v2g_share}")


def excess_kw(loads_kw: Sequence[FloatArray], limits_kw: Sequence[float]) -> FloatArray:
    """Per slot, the largest amount by which any element's expected load exceeds its limit
    (0 where none does)."""
    if len(loads_kw) != len(limits_kw) or not loads_kw:
        raise ValueError("one load series per limit, and at least one element")
    over = np.stack([load - limit for load, limit in zip(loads_kw, limits_kw, strict=True)])
    return np.asarray(np.maximum(over.max(axis=0), 0.0), dtype=np.float64)


def smart_bidding(
    tou: FloatArray,
    loads_kw: Sequence[FloatArray],
    limits_kw: Sequence[float],
    markup: float = DEFAULT_MARKUP_EUR_PER_KWH_PER_KW,
    tou_max: float | None = None,
) -> FloatArray:
    """The charging price per slot (EUR/kWh) of a cluster behind elements with these expected
    loads and limits: the tariff, or the tariff's highest price plus `markup` per excess kW."""
    excess = excess_kw(loads_kw, limits_kw)
    top = float(tou.max()) if tou_max is None else tou_max
    return np.asarray(np.where(excess > 0, top + markup * excess, tou), dtype=np.float64)


def cluster_prices(
    tou: FloatArray,
    element_ids: Sequence[str],
    forecast_kw: Mapping[str, FloatArray],
    committed_kw: Mapping[str, FloatArray],
    limits_kw: Mapping[str, float],
    rule: PricingRule,
    tou_max: float | None = None,
) -> FloatArray:
    """`smart_bidding` for one cluster from the DSO's forecasts and the committed schedules."""
    loads = [forecast_kw[e] + committed_kw[e] for e in element_ids]
    return smart_bidding(tou, loads, [limits_kw[e] for e in element_ids], rule.markup, tou_max)
