"""The routing API through its real HTTP app (httpx against the ASGI app)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from routing_fixtures import request, small_grid

from simulations.routing.app import create_app
from simulations.routing.service import RoutingService


@pytest.fixture
def api() -> Iterator[TestClient]:
    # FastAPI's TestClient: an httpx client speaking to the ASGI app itself
    with TestClient(create_app(RoutingService(small_grid()))) as c:
        yield c


def test_request_is_answered_and_reserved(api: TestClient) -> None:
    r = api.post("/v1/requests", json=request())
    assert r.status_code == 200
    a = r.json()
    assert a["status"] == "reserved"
    assert a["cluster"]["id"] == "A"  # B is outside the 0.5 km radius
    assert a["charger"] == {"id": "A-1", "power_kw": 11.0}  # least powerful that meets 5.8 kWh
    assert len(a["schedule"]) == 36
    assert a["final_soc_percent"] >= 60 - 1e-6
    # the cheapest band (F3, 06:00-07:00) carries all of it
    charged = [s for s in a["schedule"] if s["charge_kw"] > 0]
    assert charged and all(s["start"] < "2025-03-12T07:00:00+01:00" for s in charged)
    held = api.get(f"/v1/reservations/{a['reservation_id']}").json()
    assert held["cluster_id"] == "A" and held["charger_id"] == "A-1"
    assert held["energy_charged_kwh"] == pytest.approx(a["energy_charged_kwh"])


def test_second_request_sees_the_first_schedule_and_pays_more_in_shared_slots(
    api: TestClient,
) -> None:
    first = api.post("/v1/requests", json=request()).json()
    second = api.post("/v1/requests", json=request()).json()
    assert second["status"] == "reserved"
    assert second["charger"]["id"] == "A-2"  # A-1 is held
    shared = [
        (f, s)
        for f, s in zip(first["schedule"], second["schedule"], strict=True)
        if f["charge_kw"] > 0
    ]
    assert shared
    # 45 kW forecast + the first's kW over a 50 kW limit: 0.55 + 0.05 per excess kW
    for f, s in shared:
        assert s["price_eur_per_kwh"] > f["price_eur_per_kwh"]
        excess = 45.0 + f["charge_kw"] - 50.0
        assert s["price_eur_per_kwh"] == pytest.approx(0.55 + 0.05 * excess, abs=1e-4)
    assert second["cost_eur"] > first["cost_eur"]


def test_cancelled_reservation_frees_the_charger_and_the_price(api: TestClient) -> None:
    first = api.post("/v1/requests", json=request()).json()
    assert api.delete(f"/v1/reservations/{first['reservation_id']}").status_code == 200
    again = api.post("/v1/requests", json=request()).json()
    assert again["charger"]["id"] == "A-1"
    assert again["cost_eur"] == pytest.approx(first["cost_eur"])
    assert api.get(f"/v1/reservations/{first['reservation_id']}").status_code == 404


def test_no_charger_in_radius_is_an_answer_with_the_nearest_distance(api: TestClient) -> None:
    far = {"lat": 41.9000, "lon": 12.4560}  # about 3.2 km north
    r = api.post("/v1/requests", json=request(position=far, radius_km=1.0))
    assert r.status_code == 200
    a = r.json()
    assert a["status"] == "no_charger_in_radius"
    assert a["nearest_charger_km"] == pytest.approx(3.22, abs=0.05)
    assert a["reservation_id"] is None


def test_infeasible_request_says_by_how_much_and_offers_the_best_partial_charge(
    api: TestClient,
) -> None:
    # 10 % to 100 % of 58 kWh in 15 minutes; the ID.3 takes 11 kW: 2.75 kWh at most, and the
    # 0.14 km of road to site A costs 0.02 kWh
    drive = 0.111 * 1.3 * 0.16
    body = request(soc_percent=10, target_soc_percent=100, departure="2025-03-12T06:15:00+01:00")
    a = api.post("/v1/requests", json=body).json()
    assert a["status"] == "infeasible"
    assert a["shortfall_kwh"] == pytest.approx(58.0 - (5.8 - drive + 2.75), abs=0.005)
    assert "kWh short" in a["message"]
    assert a["charger"]["power_kw"] == 22.0  # none meets the demand: the most powerful
    assert a["energy_charged_kwh"] == pytest.approx(2.75, abs=1e-3)
    assert a["reservation_id"] is None
    accepted = api.post("/v1/requests", json=body | {"accept_partial": True}).json()
    assert accepted["status"] == "reserved" and accepted["reservation_id"]
    assert accepted["shortfall_kwh"] == pytest.approx(a["shortfall_kwh"])


def test_nearest_policy_charges_at_full_power_from_arrival(api: TestClient) -> None:
    a = api.post("/v1/requests", json=request(policy="nearest")).json()
    assert a["status"] == "reserved"
    assert a["schedule"][0]["charge_kw"] == 11.0
    assert a["schedule"][0]["price_eur_per_kwh"] == 0.40


BAD = [
    ({"soc_percent": 120}, "soc_percent", "less than or equal to 100"),
    ({"soc_percent": -1}, "soc_percent", "greater than or equal to 0"),
    ({"soc_percent": 70, "target_soc_percent": 60}, "target_soc_percent", "at least the current"),
    ({"departure": "2025-03-12T05:00:00+01:00"}, "departure", "not after arrival"),
    ({"departure": "2025-03-13T09:00:00+01:00"}, "departure", "at most"),
    ({"v2g": True, "v2g_energy_kwh": 80}, "v2g_energy_kwh", "exceeds what the battery holds"),
    ({"v2g_energy_kwh": 5}, "v2g_energy_kwh", "without consent"),
    ({"vehicle": {"model": "Trabant 601"}}, "vehicle.model", "not a known EV model"),
    ({"vehicle": {"model": "Fiat 500e", "battery_kwh": 90}}, "vehicle.battery_kwh", "exceeds"),
    ({"vehicle": {"model": "Fiat 500e"}, "v2g": True}, "v2g", "gives no energy back"),
    ({"radius_km": 0}, "radius_km", "greater than 0"),
    ({"radius_km": 80}, "radius_km", "less than or equal to 50"),
    ({"arrival": "2025-03-12T06:00:00"}, "arrival", "timezone"),
    ({"position": {"lat": 91, "lon": 0}}, "position.lat", "less than or equal to 90"),
    ({"colour": "red"}, "colour", "Extra inputs"),
    (
        {"arrival": "2025-03-10T06:00:00+01:00", "departure": "2025-03-10T07:00:00+01:00"},
        "arrival",
        "outside the service's horizon",
    ),
    ({"departure": "2025-03-12T06:03:00+01:00"}, "departure", "no whole 5-minute slot"),
]


@pytest.mark.parametrize(("change", "field", "rule"), BAD)
def test_bad_input_is_422_naming_the_field_and_the_rule(
    api: TestClient, change: dict[str, object], field: str, rule: str
) -> None:
    r = api.post("/v1/requests", json=request(**change))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    mine = [d for d in detail if d["field"] == field]
    assert mine, detail
    assert rule in mine[0]["msg"]
    assert mine[0]["msg"].startswith(f"{field}: ")


def test_nan_and_malformed_json_are_422_not_500(api: TestClient) -> None:
    r = api.post(
        "/v1/requests", content=b'{"soc_percent": NaN', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    r = api.post("/v1/requests", json=request(radius_km="far"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "radius_km"


def test_unknown_cluster_prices_are_404(api: TestClient) -> None:
    assert api.get("/v1/clusters/Z/prices").status_code == 404
    prices = api.get("/v1/clusters/A/prices").json()
    assert prices["step_minutes"] == 5 and len(prices["prices_eur_per_kwh"]) == 36
