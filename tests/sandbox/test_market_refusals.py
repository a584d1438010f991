"""Each refusal of the market through the connectors, with the ledger unchanged.

A refusal of the chaincode comes back with `Prefer: wait` as the operation's outcome: its status
and the chaincode's words; a refusal of the connector (a malformed series, a hash that does not
match) comes before anything is queued. Either way the channel's height does not move.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from connector_helpers import (
    BSP1_EIC,
    WAIT,
    charger,
    committed,
    new_pod_code,
    pod_body,
    uvam_body,
)
from connectors import Connectors
from market_helpers import (
    CHANNEL,
    DAY_END,
    PRICE,
    Uvam,
    accepted_offer,
    activate,
    charger_minutes,
    clock,
    height,
    offer,
    open_period,
    qualified_uvam,
    seen,
    series_body,
)

from gateway import EndorseError, Gateway, GatewayError, from_profile

pytestmark = pytest.mark.sandbox


@dataclass
class World:
    """BSP 1's qualified UVAM and two periods of the same day on a demo clock:

    - ``period``: its up offer accepted, a 10:00 activation sent and verified on the aggregate,
      the statement issued; its clock now at the day's end;
    - ``next``: an up offer accepted and a down offer left Submitted; its clock at 09:40;
    - ``late``: its gate passed, nothing offered.

    Besides, a charger registered under a POD that is not in the UVAM, and a UVAM of BSP 1 that
    was never qualified.
    """

    c: Connectors
    uvam: Uvam
    period: str
    activation: str
    statement: str
    next: str
    next_up: str
    next_down: str
    late: str
    stranger: str
    unqualified: str


@pytest.fixture(scope="module")
def ledger(connectors: Connectors) -> Iterator[Gateway]:
    with from_profile("tso", "User1", connectors.profile) as gw:
        yield gw


@pytest.fixture(scope="module")
def world(connectors: Connectors) -> World:
    c = connectors
    bsp, tso = c.client("bsp1"), c.client("tso")
    uvam = qualified_uvam(c)
    period = open_period(c)
    offer_id = accepted_offer(c, period, uvam)
    clock(c, period, "2026-04-15T09:50:00Z")
    activation_id = activate(c, offer_id)
    seen(bsp, f"/market/activations/{activation_id}", "the activation")
    clock(c, period, DAY_END)
    aggregate = [2 * v for v in charger_minutes()]
    body = series_body(period, uvam, uvam.id, "aggregate", aggregate)
    committed(bsp, "POST", "/market/measurements", body)
    committed(tso, "POST", f"/market/activations/{activation_id}/verification")
    statement = {"periodId": period, "flexibilityServiceProviderId": BSP1_EIC}
    issued = committed(tso, "POST", "/market/statements", statement)

    following = open_period(c)
    up = offer(c, following, uvam, 40.0)
    down = committed(
        bsp,
        "POST",
        "/market/offers",
        {
            "periodId": following,
            "resourceGroupId": uvam.id,
            "direction": "down",
            "quantity": 10.0,
            "price": PRICE,
        },
    )["resourceId"]
    seen(tso, f"/market/offers/{down}", "the down offer at the TSO")
    clock(c, following, "2026-04-14T12:00:00Z")
    committed(tso, "PATCH", f"/market/offers/{up}/status", {"status": "Accepted"})
    clock(c, following, "2026-04-15T09:40:00Z")

    late = open_period(c)
    clock(c, late, "2026-04-14T12:30:00Z")

    outside = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(outside))
    committed(bsp, "POST", f"/pods/{outside}/devices", charger(outside, 1))
    return World(
        c,
        uvam,
        period,
        activation_id,
        issued["resourceId"],
        following,
        up,
        down,
        late,
        f"{outside}-EVSE-1",
        _unqualified(c),
    )


def _unqualified(c: Connectors) -> str:
    """A UVAM registered but never qualified (no members: it stays Registered)."""
    uvam_id = f"UVAM-U-{uuid.uuid4().hex[:8]}"
    committed(c.client("bsp1"), "POST", "/uvams", uvam_body(resourceGroupId=uvam_id))
    return uvam_id


Call = Callable[[World], httpx.Response]


def _offer(period: Callable[[World], str], uvam: Callable[[World], str], quantity: float) -> Call:
    def call(w: World) -> httpx.Response:
        body = {
            "periodId": period(w),
            "resourceGroupId": uvam(w),
            "direction": "up",
            "quantity": quantity,
            "price": PRICE,
        }
        return w.c.client("bsp1").post("/market/offers", json=body, headers=WAIT)

    return call


def _activation(offer_of: Callable[[World], str], power: float, start: str) -> Call:
    def call(w: World) -> httpx.Response:
        body = {"offerId": offer_of(w), "start": start, "durationMinutes": 30, "power": power}
        return w.c.client("tso").post("/market/activations", json=body, headers=WAIT)

    return call


def _upload(org: str, resource: Callable[[World], str], scope: str, **change: Any) -> Call:
    def call(w: World) -> httpx.Response:
        values = [2 * v for v in charger_minutes()]
        body = series_body(w.period, w.uvam, resource(w), scope, values)
        series = body["series"]
        if change.get("gap"):
            series["Period"]["Point"] = [
                p for p in series["Period"]["Point"] if p["position"] != 17
            ]
        if change.get("resolution"):
            series["Period"]["resolution"] = change["resolution"]
        if change.get("sha256"):
            body["sha256"] = change["sha256"]
        if change.get("activation"):
            body["activationId"] = change["activation"](w)
        return w.c.client(org).post("/market/measurements", json=body, headers=WAIT)

    return call


# (call, status, error code, words)
CASES: dict[str, tuple[Call, int, str, str]] = {
    "offer after gate closure": (
        _offer(lambda w: w.late, lambda w: w.uvam.id, 40.0),
        409,
        "WrongState",
        "closed for offers at 2026-04-14T12:00:00Z (market time 2026-04-14T12:30:00Z)",
    ),
    "offer above the qualified power": (
        _offer(lambda w: w.period, lambda w: w.uvam.id, 45.0),
        422,
        "InvalidArgument",
        "45 kW at position 1 (00:00-00:15) exceeds UVAM",
    ),
    "offer for an unqualified UVAM": (
        _offer(lambda w: w.period, lambda w: w.unqualified, 10.0),
        409,
        "WrongState",
        "is Registered; only a Qualified UVAM offers flexibility",
    ),
    "activation of an unaccepted offer": (
        _activation(lambda w: w.next_down, 5.0, "2026-04-15T09:45:00Z"),
        409,
        "WrongState",
        "is Submitted; only an Accepted offer is activated",
    ),
    "activation beyond the offer's quantity": (
        _activation(lambda w: w.next_up, 45.0, "2026-04-15T09:45:00Z"),
        422,
        "InvalidArgument",
        "45 kW at 09:45-10:00 exceeds what offer",
    ),
    "activation beyond its lead time": (
        _activation(lambda w: w.next_up, 5.0, "2026-04-15T10:15:00Z"),
        422,
        "InvalidArgument",
        "starts 35 minutes after it is sent (market time 2026-04-15T09:40:00Z); the lead time "
        "is at most 15 minutes",
    ),
    "measurements of a device not in the UVAM": (
        _upload("bsp1", lambda w: w.stranger, "device"),
        422,
        "InvalidArgument",
        "is not a member of UVAM",
    ),
    "measurements for another BSP's activation": (
        _upload("bsp2", lambda w: w.uvam.id, "aggregate", activation=lambda w: w.activation),
        404,
        "NotFound",
        "is not known to this connector",
    ),
    "measurements with a hash that does not match": (
        _upload("bsp1", lambda w: w.uvam.devices[0], "device", sha256="0" * 64),
        422,
        "InvalidArgument",
        "does not match the series: its canonical form hashes to",
    ),
    "measurements with gaps": (
        _upload("bsp1", lambda w: w.uvam.devices[0], "device", gap=True),
        422,
        "InvalidArgument",
        "position 17 (2026-04-15T00:16Z) is missing",
    ),
    "measurements with an unknown resolution": (
        _upload("bsp1", lambda w: w.uvam.devices[0], "device", resolution="PT5M"),
        422,
        "InvalidArgument",
        "resolution 'PT5M' is not one the market knows",
    ),
    "a duplicate upload": (
        _upload("bsp1", lambda w: w.uvam.id, "aggregate"),
        409,
        "AlreadyExists",
        "is already anchored as SER-",
    ),
    "a BSP reading another BSP's settlement": (
        lambda w: w.c.client("bsp2").get(f"/market/statements/{w.statement}"),
        404,
        "NotFound",
        "is not known to this connector",
    ),
    "a DSO reading a settlement": (
        lambda w: w.c.client("areti").get(f"/market/statements/{w.statement}"),
        403,
        "Forbidden",
        "readable by their BSP and the TSO only",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_market_refusal_names_the_rule_and_leaves_the_ledger_unchanged(
    world: World, ledger: Gateway, case: str
) -> None:
    call, status, code, words = CASES[case]
    before = height(ledger)
    reply = call(world)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert height(ledger) == before


def test_market_bsp2_cannot_read_bsp1s_channel_at_all(world: World) -> None:
    """Not the chaincode but the channel refuses BSP 2: it is no member of BSP 1's channel."""
    with from_profile("bsp2", "User1", world.c.profile) as gw:
        contract = gw.get_network(CHANNEL).get_contract("registry")
        with pytest.raises((EndorseError, GatewayError)):
            contract.evaluate_transaction("ReadStatement", world.statement)
