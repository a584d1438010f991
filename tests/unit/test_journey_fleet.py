"""The journey's fleet and its answer to set points: seeded, bounded, and energy kept."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np

from simulations.journey.fleet import MINUTES, Session, build_fleet, charge, uncontrolled
from simulations.journey.response import SetPoint, respond


def test_journey_fleet_is_the_same_for_the_same_seed() -> None:
    one, two = build_fleet(25, 3, "run"), build_fleet(25, 3, "run")
    assert [len(s.chargers) for s in one] == [9, 8, 8]
    assert [[c.sessions for c in s.chargers] for s in one] == [
        [c.sessions for c in s.chargers] for s in two
    ]
    assert build_fleet(25, 4, "run")[0].chargers[0].sessions != one[0].chargers[0].sessions


def test_journey_fleet_pods_are_areti_codes_unique_per_run() -> None:
    codes = {s.pod for s in build_fleet(100, 1, "a")} | {s.pod for s in build_fleet(100, 1, "b")}
    assert len(codes) == 20
    assert all(re.fullmatch(r"IT002E\d{8}", c) for c in codes)


def test_journey_charging_stops_when_the_car_has_its_energy_or_leaves() -> None:
    full = charge(Session(arrival=60, departure=600, energy_kwh=11.0, power_kw=22.0))
    assert full[59] == 0 and full[60] == 22.0 and abs(full.sum() / 60 - 11.0) < 1e-9
    assert full[90] == 0  # 11 kWh at 22 kW: 30 minutes
    cut = charge(Session(arrival=60, departure=75, energy_kwh=11.0, power_kw=22.0))
    assert abs(cut.sum() / 60 - 22.0 * 15 / 60) < 1e-9


def test_journey_a_held_car_makes_up_its_energy_after_the_window() -> None:
    session = Session(arrival=0, departure=MINUTES, energy_kwh=11.0, power_kw=11.0)
    held = np.ones(MINUTES)
    held[10:40] = 0.0
    shifted = charge(session, held)
    assert shifted[10:40].sum() == 0 and abs(shifted.sum() / 60 - 11.0) < 1e-9
    assert shifted[60:90].sum() > 0  # the rebound: charging goes on half an hour longer


def test_journey_fleet_lowers_its_load_in_a_window_and_keeps_each_chargers_energy() -> None:
    sites = build_fleet(60, 5, "run")
    base = sum((uncontrolled(c) for s in sites for c in s.chargers), np.zeros(MINUTES))
    point = SetPoint("ACT-1", notified=9 * 60 + 20, start=9 * 60 + 30, end=10 * 60, power_kw=60.0)
    measured, [dispatch] = respond(sites, [point], seed=5)
    after = sum(measured.values(), np.zeros(MINUTES))
    assert dispatch.selected >= 1 and dispatch.stopped_kw > 0
    assert after[point.start + 1 : point.end].mean() < base[point.start + 1 : point.end].mean() - 30
    assert after.sum() <= base.sum() + 1e-6  # cars leaving early may take less, never more
    assert np.array_equal(after[: point.notified], base[: point.notified])


def test_journey_cli_refuses_bad_input_in_one_line() -> None:
    for argv, words in (
        (["--chargers", "0"], "--chargers 0: a fleet has 1 to 500 chargers"),
        (["--seed", "-1"], "--seed -1: a seed is 0 or more"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "cbp", "simulate", "journey", *argv],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2
        assert done.stderr.strip() == f"cbp simulate journey: error: {words}"
