"""The market pages' logic without a browser: the market forms parsed by the API's models (the
rule beside the field it names), an offer's steps in words, a verification's steps by quarter
hour, and the menu of every role of the registry's channels."""

from __future__ import annotations

import re

import pytest

from connector.org import Role
from connector.permissions import Access, allowed
from connector.schemas import market as s
from connector.web import forms, market_forms
from connector.web.pages.market_activations import step_rows
from connector.web.pages.market_offers import steps_summary
from connector.web.profile_chart import HEIGHT, profile_chart
from connector.web.templating import navigation

PERIOD = {
    "periodId": "MP-1",
    "deliveryStart": "2026-04-15T00:00:00Z",
    "deliveryEnd": "2026-04-16T00:00:00Z",
    "gateClosure": "2026-04-14T12:00:00Z",
    "clock": "demo",
    "demoTime": "2026-04-14T10:00:00Z",
}
PERIOD_FIELDS = {f.name for sec in market_forms.PERIOD for f in sec.fields}


def test_web_market_period_form_parses_into_the_api_body() -> None:
    outcome = forms.parse(s.MarketPeriodCreate, PERIOD, PERIOD_FIELDS)
    assert outcome.ok and isinstance(outcome.body, s.MarketPeriodCreate)
    assert outcome.body.clock == "demo" and outcome.body.gateClosure == PERIOD["gateClosure"]


def test_web_market_period_form_gate_after_delivery_is_named_beside_the_gate() -> None:
    values = {**PERIOD, "gateClosure": "2026-04-15T06:00:00Z"}
    outcome = forms.parse(s.MarketPeriodCreate, values, PERIOD_FIELDS)
    assert not outcome.ok
    assert "gateClosure must not be after deliveryStart" in outcome.errors["gateClosure"]


def test_web_market_offer_form_nests_the_price_and_refuses_a_negative_one() -> None:
    fields = market_forms.names(market_forms.offer_fields([]))
    values = {
        "periodId": "MP-1",
        "resourceGroupId": "UVAM-1",
        "direction": "A01",
        "quantity": "40",
        "price.amount": "180",
    }
    outcome = forms.parse(s.OfferCreate, values, fields)
    assert isinstance(outcome.body, s.OfferCreate)
    assert outcome.body.price.amount == 180.0 and outcome.body.quantity == 40.0
    refused = forms.parse(s.OfferCreate, {**values, "price.amount": "-5"}, fields)
    assert "greater than or equal to 0" in refused.errors["price.amount"]


def test_web_market_offer_profile_becomes_the_quantities_step_by_step() -> None:
    steps = market_forms.profile("40, 35.5\n0;12  ")
    assert steps == [
        {"position": 1, "quantity": 40.0},
        {"position": 2, "quantity": 35.5},
        {"position": 3, "quantity": 0.0},
        {"position": 4, "quantity": 12.0},
    ]
    fields = market_forms.names(market_forms.offer_fields([]))
    values = {"periodId": "MP-1", "resourceGroupId": "UVAM-1", "direction": "A01"}
    outcome = forms.parse(
        s.OfferCreate, {**values, "price.amount": "180"}, fields, {"quantities": steps}
    )
    assert isinstance(outcome.body, s.OfferCreate)
    assert [q.quantity for q in outcome.body.quantities or []] == [40.0, 35.5, 0.0, 12.0]
    both = forms.parse(
        s.OfferCreate,
        {**values, "price.amount": "180", "quantity": "40"},
        fields,
        {"quantities": steps},
    )
    assert not both.ok and "one quantity for every step" in " ".join(both.form_errors)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("40 40 4O", "step 3: '4O' is not a number of kW"),
        ("40 -5", "step 2: -5 kW; a quantity is 0 or more"),
        ("40 nan", "step 2: nan kW; a quantity is 0 or more"),
        (" ".join(["1"] * 101), "101 values, but a period has at most 100 steps"),
    ],
)
def test_web_market_offer_profile_names_the_step_at_fault(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        market_forms.profile(text)


def test_web_market_activation_form_refuses_a_start_off_the_quarter_hour() -> None:
    values = {"offerId": "OFF-1", "start": "2026-04-15T10:05:00Z", "durationMinutes": "30"}
    fields = market_forms.names(market_forms.ACTIVATION)
    outcome = forms.parse(s.ActivationCreate, {**values, "power": "30"}, fields)
    assert "must fall on a quarter hour" in outcome.errors["start"]


@pytest.mark.parametrize(
    ("quantities", "said"),
    [
        ([40.0] * 96, "40 kW at each of 96 steps"),
        ([10.0, 25.5, 40.0], "10 to 40 kW over 3 steps"),
        ([], "no step"),
    ],
)
def test_web_market_offer_steps_in_words(quantities: list[float], said: str) -> None:
    steps = [{"position": i + 1, "quantity": q} for i, q in enumerate(quantities)]
    assert steps_summary(steps) == said


def test_web_market_verification_steps_by_quarter_hour() -> None:
    check = {"steps": [{"deliveredKwh": 7.5}, {"deliveredKwh": 7.0}]}
    rows = step_rows("2026-04-15T10:00:00Z", check)
    assert [label for label, _ in rows] == ["10:00-10:15", "10:15-10:30"]
    assert rows[1][1]["deliveredKwh"] == 7.0
    assert step_rows("2026-04-15T10:00:00Z", None) == []


@pytest.mark.parametrize("role", [Role.BSP, Role.TSO, Role.DSO, Role.AUDITOR])
def test_web_market_in_the_menu_of_every_registry_role(role: Role) -> None:
    items = navigation(role, allowed(role, Access.operator))
    market = [i for i in items if i.section == "market"]
    assert len(market) == 1 and market[0].available and market[0].href == "/ui/market"


def test_web_market_offer_profile_drawn_a_bar_a_step() -> None:
    quantities = [{"position": p, "quantity": 40.0 if p == 2 else 20.0} for p in (1, 2, 4)]
    chart = profile_chart(quantities, "2026-04-15T00:00:00Z")
    assert chart is not None and chart.peak == 40.0
    assert [b.height for b in chart.bars] == [HEIGHT / 2, HEIGHT, 0.0, HEIGHT / 2]
    assert chart.bars[1].title == "step 2 · 00:15 UTC: 40 kW"
    assert chart.bars[2].title == "step 3 · 00:30 UTC: 0 kW"  # a step left out offers nothing
    assert [t.label for t in chart.ticks] == ["00:00"]
    assert profile_chart([], "2026-04-15T00:00:00Z") is None
    flat = profile_chart([{"position": 1, "quantity": 0.0}], "not a time")
    assert flat is not None and flat.bars[0].height == 0.0 and flat.ticks == ()
    assert flat.bars[0].title == "step 1: 0 kW"
