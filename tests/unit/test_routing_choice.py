from simulations.routing.model import Charger
from simulations.routing.service import choose_charger

CHARGERS = [Charger("c22", 22.0), Charger("c7", 7.4), Charger("c11", 11.0)]


def test_choose_charger_takes_the_least_powerful_that_meets_the_demand() -> None:
    # 20 kWh in 2 h: 7.4 kW gives 14.8, 11 kW gives 22
    assert choose_charger(CHARGERS, 22.0, 20.0, 2.0).id == "c11"
    assert choose_charger(CHARGERS, 22.0, 10.0, 2.0).id == "c7"


def test_choose_charger_takes_the_most_powerful_when_none_meets_the_demand() -> None:
    assert choose_charger(CHARGERS, 22.0, 100.0, 2.0).id == "c22"


def test_choose_charger_counts_what_the_car_can_take() -> None:
    # the car takes 11 kW at most: a 22 kW charger delivers no more than the 11 kW one
    assert choose_charger(CHARGERS, 11.0, 20.0, 2.0).id == "c11"
    assert choose_charger(CHARGERS, 11.0, 30.0, 2.0).id == "c22"


def test_choose_charger_without_a_free_charger_is_none() -> None:
    assert choose_charger([], 11.0, 5.0, 1.0) is None
