"""What the market's sandbox tests share: a qualified UVAM through the connectors, a period on a
demo clock, series in ESMP shape, and the ledger's height to show a refusal changed nothing.

The numbers of the journey (worked out in its test's docstring): two chargers of a POD draw
20 kW each all day, except 5 kW each from 10:00 to 10:15 and 6 kW each from 10:15 to 10:30,
the answer to a 30 kW upward activation of those 30 minutes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from connector_helpers import (
    charger,
    committed,
    connection_body,
    diagram,
    new_pod_code,
    pod_body,
    until,
    uvam_body,
)
from connectors import Connectors

from connector import esmp
from gateway import Gateway

CHANNEL = "bsp1-channel"
DAY = datetime(2026, 4, 15, tzinfo=UTC)
DAY_START, DAY_END = "2026-04-15T00:00:00Z", "2026-04-16T00:00:00Z"
GATE = "2026-04-14T12:00:00Z"
PRICE = {"amount": 180.0, "currency": "EUR"}
WAIT = {"Prefer": "wait=30"}


@dataclass(frozen=True)
class Uvam:
    id: str
    pod: str
    devices: tuple[str, ...]


def qualified_uvam(c: Connectors) -> Uvam:
    """A POD with two chargers, validated, in a UVAM the TSO qualified for 40 kW up, 20 down."""
    bsp, tso, dso = c.client("bsp1"), c.client("tso"), c.client("areti")
    code = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(code))
    for n in (1, 2):
        committed(bsp, "POST", f"/pods/{code}/devices", charger(code, n))
    committed(bsp, "POST", f"/pods/{code}/attachments", diagram())
    until(lambda: bsp.get(f"/pods/{code}").json()["status"] == "Open", what="POD open")
    committed(bsp, "PATCH", f"/pods/{code}/status", {"status": "UnderReview"})
    until(lambda: _status(tso, f"/pods/{code}") == "UnderReview", what="TSO sees the POD")
    committed(tso, "PATCH", f"/pods/{code}/status", {"status": "PreValidated"})
    until(lambda: _status(dso, f"/pods/{code}") == "PreValidated", what="DSO sees the POD")
    committed(dso, "PATCH", f"/pods/{code}/status", {"status": "Validated"})
    until(lambda: _status(bsp, f"/pods/{code}") == "Validated", what="BSP sees Validated")
    uvam = f"UVAM-T-{uuid.uuid4().hex[:10]}"
    body = uvam_body(resourceGroupId=uvam, maximumQualifiedPower=40.0, minimumQualifiedPower=20.0)
    committed(bsp, "POST", "/uvams", body)
    committed(bsp, "POST", f"/uvams/{uvam}/resources", {"resource": code})
    committed(bsp, "POST", f"/uvams/{uvam}/attachments", diagram())
    committed(bsp, "POST", f"/uvams/{uvam}/connection", connection_body())
    until(lambda: _status(bsp, f"/uvams/{uvam}") == "Open", what="UVAM open")
    committed(bsp, "PATCH", f"/uvams/{uvam}/status", {"status": "UnderReview"})
    until(lambda: _status(tso, f"/uvams/{uvam}") == "UnderReview", what="TSO sees the UVAM")
    committed(tso, "PATCH", f"/uvams/{uvam}/status", {"status": "Qualified"})
    until(lambda: _status(bsp, f"/uvams/{uvam}") == "Qualified", what="BSP sees Qualified")
    return Uvam(uvam, code, (f"{code}-EVSE-1", f"{code}-EVSE-2"))


def _status(client: httpx.Client, path: str) -> str | None:
    reply = client.get(path)
    return reply.json().get("status") if reply.status_code == 200 else None


def seen(client: httpx.Client, path: str, what: str) -> dict[str, Any]:
    """The resource once this connector's mirror has it (the ledger's event reached it)."""
    reply = until(
        lambda: (r := client.get(path)).status_code == 200 and r,
        what=what,
    )
    body: dict[str, Any] = reply.json()
    return body


def open_period(c: Connectors, **changes: Any) -> str:
    """A demo-clock period of the delivery day on BSP 1's channel; its clock at D-1 10:00."""
    period = f"MP-T-{uuid.uuid4().hex[:10]}"
    body = {
        "periodId": period,
        "deliveryStart": DAY_START,
        "deliveryEnd": DAY_END,
        "gateClosure": GATE,
        "clock": "demo",
        "demoTime": "2026-04-14T10:00:00Z",
        **changes,
    }
    committed(c.client("tso"), "POST", "/market/periods", body, params={"channel": CHANNEL})
    for org in ("bsp1", "areti"):
        seen(c.client(org), f"/market/periods/{period}", f"{org} sees the period")
    return period


def clock(c: Connectors, period: str, time: str) -> None:
    committed(c.client("tso"), "PUT", f"/market/periods/{period}/clock", {"demoTime": time})


def offer(c: Connectors, period: str, uvam: Uvam, quantity: float = 40.0) -> str:
    op = committed(
        c.client("bsp1"),
        "POST",
        "/market/offers",
        {
            "periodId": period,
            "resourceGroupId": uvam.id,
            "direction": "up",
            "quantity": quantity,
            "price": PRICE,
        },
    )
    offer_id: str = op["resourceId"]
    seen(c.client("tso"), f"/market/offers/{offer_id}", "TSO sees the offer")
    return offer_id


def accepted_offer(c: Connectors, period: str, uvam: Uvam) -> str:
    offer_id = offer(c, period, uvam)
    clock(c, period, GATE)
    committed(c.client("tso"), "PATCH", f"/market/offers/{offer_id}/status", {"status": "Accepted"})
    return offer_id


def activate(c: Connectors, offer_id: str, start: str = "2026-04-15T10:00:00Z") -> str:
    op = committed(
        c.client("tso"),
        "POST",
        "/market/activations",
        {"offerId": offer_id, "start": start, "durationMinutes": 30, "power": 30.0},
    )
    activation: str = op["resourceId"]
    return activation


def charger_minutes() -> list[float]:
    """One charger's day: 20 kW, 5 kW over 10:00-10:15, 6 kW over 10:15-10:30."""
    return [5.0 if 600 <= m < 615 else 6.0 if 615 <= m < 630 else 20.0 for m in range(1440)]


def series_body(
    period: str, uvam: Uvam, resource: str, scope: str, values: list[float], **extra: Any
) -> dict[str, Any]:
    series = esmp.build(f"{period}-{resource}", resource, DAY, "PT1M", values)
    return {
        "periodId": period,
        "resourceGroupId": uvam.id,
        "scope": scope,
        "resource": resource,
        "series": json.loads(esmp.canonical(series)),
        **extra,
    }


def height(ledger: Gateway, channel: str = CHANNEL) -> int:
    return int(ledger.get_network(channel).get_chain_info().height)
