from datetime import datetime

import numpy as np
import pytest

from simulations.routing.model import ROME, Horizon
from simulations.routing.pricing import (
    PricingRule,
    TouTariff,
    cluster_prices,
    excess_kw,
    smart_bidding,
)


def test_tou_bands_follow_weekday_and_hour() -> None:
    t = TouTariff(f1=0.55, f2=0.48, f3=0.40)
    assert t.price(2, 10) == 0.55  # Wednesday 10:00, F1
    assert t.price(2, 7) == 0.48  # Wednesday 07:00, F2
    assert t.price(2, 20) == 0.48  # Wednesday 20:00, F2
    assert t.price(2, 23) == 0.40  # night, F3
    assert t.price(5, 10) == 0.48  # Saturday daytime, F2
    assert t.price(6, 12) == 0.40  # Sunday, F3


def test_tou_prices_per_slot_of_the_horizon() -> None:
    h = Horizon(datetime(2025, 3, 12, 6, 55, tzinfo=ROME), 3)
    assert TouTariff().prices(h).tolist() == [0.40, 0.48, 0.48]


def test_smart_bidding_is_the_tariff_where_no_element_is_over_its_limit() -> None:
    tou = np.array([0.40, 0.48, 0.55])
    loads = [np.array([10.0, 49.0, 50.0])]
    assert smart_bidding(tou, loads, [50.0]).tolist() == [0.40, 0.48, 0.55]


def test_smart_bidding_marks_up_the_highest_price_per_excess_kw() -> None:
    tou = np.array([0.40, 0.48, 0.55])
    loads = [np.array([60.0, 52.0, 40.0])]  # 10 kW and 2 kW over a 50 kW limit
    prices = smart_bidding(tou, loads, [50.0], markup=0.05)
    assert prices == pytest.approx([0.55 + 0.05 * 10, 0.55 + 0.05 * 2, 0.55])


def test_smart_bidding_takes_the_largest_excess_of_the_elements() -> None:
    tou = np.array([0.40])
    loads = [np.array([55.0]), np.array([130.0])]  # 5 kW over 50, 30 kW over 100
    assert excess_kw(loads, [50.0, 100.0]).tolist() == [30.0]
    assert smart_bidding(tou, loads, [50.0, 100.0], markup=0.05) == pytest.approx([0.40 + 1.5])


def test_cluster_prices_add_the_committed_schedules_to_the_forecast() -> None:
    tou = np.array([0.40, 0.40])
    forecast = {"T": np.array([45.0, 45.0])}
    committed = {"T": np.array([11.0, 0.0])}
    prices = cluster_prices(tou, ["T"], forecast, committed, {"T": 50.0}, PricingRule(), 0.55)
    assert prices == pytest.approx([0.55 + 0.05 * 6, 0.40])


def test_pricing_rule_refuses_a_v2g_share_above_one() -> None:
    with pytest.raises(ValueError, match="v2g_share"):
        PricingRule(v2g_share=1.2)
