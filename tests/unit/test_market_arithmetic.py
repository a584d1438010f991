"""The verification method and the settlement rule against the hand-computed examples of
docs/market.md (each number below is worked out there, step by step)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chaincode.registry.settlement import settle, totals
from chaincode.registry.verification import assess, baseline_step, deviation


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent", "baseline"),
    [
        ("2026-03-02 09:50", "2026-03-02 09:30"),  # 10' ahead: the step before 09:45
        ("2026-03-02 09:45", "2026-03-02 09:30"),  # 15' ahead: the step that just ended
        ("2026-03-02 10:00", "2026-03-02 09:45"),  # sent at the start: the step before it
        ("2026-03-02 09:59:59", "2026-03-02 09:30"),
    ],
)
def test_market_baseline_step_is_the_last_full_step_before_the_set_point(
    sent: str, baseline: str
) -> None:
    assert baseline_step(_at(sent)) == _at(baseline)


def test_market_example_1_upward_activation_short_of_its_target() -> None:
    """100 kW up for 30'; baseline 50 kWh in 15' = 200 kW; measured 26 and 30 kWh."""
    result = assess("A01", 100.0, 50.0, [26.0, 30.0])
    assert result["baselineKw"] == 200.0
    assert [s["measuredKw"] for s in result["steps"]] == [104.0, 120.0]
    assert [s["responseKw"] for s in result["steps"]] == [96.0, 80.0]
    assert [s["deliveredKwh"] for s in result["steps"]] == [24.0, 20.0]
    assert (result["requestedKwh"], result["deliveredKwh"], result["ratio"]) == (50.0, 44.0, 0.88)
    assert result["passed"] is False
    line = settle(result["requestedKwh"], result["deliveredKwh"], 200.0)
    assert line["paidKwh"] == 44.0 and line["remuneration"] == 8.80
    assert line["penalisedKwh"] == 1.0 and line["penalty"] == 0.30
    assert line["amount"] == 8.50


def test_market_example_2_downward_over_delivery_is_capped() -> None:
    """40 kW down for 15'; baseline 30 kWh = 120 kW; measured 42.5 kWh = 170 kW."""
    result = assess("A02", 40.0, 30.0, [42.5])
    assert result["steps"][0]["responseKw"] == 50.0
    assert result["deliveredKwh"] == 10.0 and result["ratio"] == 1.0 and result["passed"]
    line = settle(10.0, 10.0, 120.0)
    assert (line["remuneration"], line["penalty"], line["amount"]) == (1.20, 0.0, 1.20)


def test_market_example_3_within_the_tolerance_no_penalty() -> None:
    """Requested 50 kWh, delivered 46 (92 %): passes; 4 kWh short is within the 5 kWh tolerated."""
    result = assess("A01", 100.0, 50.0, [27.0, 27.0])
    assert result["deliveredKwh"] == 46.0 and result["ratio"] == 0.92 and result["passed"]
    line = settle(50.0, 46.0, 200.0)
    assert (line["remuneration"], line["penalty"], line["amount"]) == (9.20, 0.0, 9.20)


def test_market_example_4_no_response_owes_the_tso() -> None:
    """Nothing delivered: 45 kWh beyond the tolerance x 0.20 EUR/kWh x 1.5 = 13.50 EUR owed."""
    result = assess("A01", 100.0, 50.0, [50.0, 55.0])
    assert result["deliveredKwh"] == 0.0 and result["ratio"] == 0.0
    assert [s["responseKw"] for s in result["steps"]] == [0.0, -20.0]
    line = settle(50.0, 0.0, 200.0)
    assert (line["remuneration"], line["penalty"], line["amount"]) == (0.0, 13.50, -13.50)


def test_market_one_steps_surplus_does_not_cover_anothers_gap() -> None:
    """Step 1 over-delivers (150 kW of 100), step 2 delivers 50: 25 + 12.5 = 37.5 of 50 kWh."""
    result = assess("A01", 100.0, 50.0, [12.5, 37.5])
    assert [s["deliveredKwh"] for s in result["steps"]] == [25.0, 12.5]
    assert result["ratio"] == 0.75


def test_market_exactly_ninety_percent_passes() -> None:
    assert assess("A01", 100.0, 50.0, [27.5, 27.5])["passed"] is True  # 45 of 50 kWh


def test_market_statement_totals_add_the_lines_to_the_cent() -> None:
    lines = [settle(50.0, 44.0, 200.0), settle(10.0, 10.0, 120.0), settle(50.0, 0.0, 200.0)]
    assert totals(lines) == {
        "amount": -3.80,
        "deliveredKwh": 54.0,
        "penalty": 13.80,
        "remuneration": 10.00,
        "requestedKwh": 110.0,
    }


def test_market_cents_round_half_up() -> None:
    # 3.333 kWh at 150 EUR/MWh = 0.49995 EUR -> 0.50
    assert settle(3.333, 3.333, 150.0)["remuneration"] == 0.50


def test_market_devices_must_add_up_to_their_aggregate() -> None:
    assert deviation([50.0, 26.0], [50.0, 26.0]) == 0.0
    assert deviation([50.0, 26.0], [50.0, 27.3]) == pytest.approx(0.05)
    # below 1 kWh the gap is judged against 1 kWh: rounding of many small devices is no failure
    assert deviation([0.2], [0.25]) == pytest.approx(0.05)
