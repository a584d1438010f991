"""The market's request builders for the registry's in-memory ledger.

The delivery day is 2026-03-02 (UTC), its gate 2026-03-01 12:00, on a demo clock that starts at
2026-03-01 10:00: each test moves the clock as the TSO would. UVAM-ROMA-1 holds POD1 (and so
its two chargers EVSE-1 and EVSE-2); it is qualified for 100 kW up and 50 kW down.
"""

from __future__ import annotations

import hashlib
from typing import Any

from registry_fakes import (
    ARETI,
    BSP1,
    POD1,
    POD2,
    TSO,
    FakeLedger,
    attachment,
    connection,
    relation,
    uvam,
    validated_pod,
)

U = "UVAM-ROMA-1"
PERIOD = "MP-2026-03-02"
DAY_START, DAY_END = "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"
GATE = "2026-03-01T12:00:00Z"
PRICE = {"amount": 200.0, "currency": "EUR"}
DEVICES = ("EVSE-1", "EVSE-2")


def qualified(ledger: FakeLedger) -> None:
    validated_pod(ledger, POD1, DEVICES)
    validated_pod(ledger, POD2, ("EVSE-9",))
    ledger.submit(
        BSP1, "RegisterUvam", uvam(maximumQualifiedPower=100.0, minimumQualifiedPower=50.0)
    )
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": U}))
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})
    ledger.submit(TSO, "UpdateUvamStatus", {"resourceGroupId": U, "status": "Qualified"})


def period(**changes: Any) -> dict[str, Any]:
    data = {
        "periodId": PERIOD,
        "deliveryStart": DAY_START,
        "deliveryEnd": DAY_END,
        "gateClosure": GATE,
        "clock": "demo",
        "demoTime": "2026-03-01T10:00:00Z",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def offer(quantity: float = 100.0, **changes: Any) -> dict[str, Any]:
    data = {
        "offerId": "OFF-1",
        "periodId": PERIOD,
        "resourceGroupId": U,
        "direction": "A01",
        "quantities": [{"position": p, "quantity": quantity} for p in range(1, 97)],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def clock(ledger: FakeLedger, time: str) -> None:
    ledger.submit(TSO, "AdvanceMarketClock", PERIOD, {"demoTime": time})


def market_ready(ledger: FakeLedger) -> None:
    """A qualified UVAM, an open period and BSP 1's offer of 100 kW up at every step."""
    qualified(ledger)
    ledger.submit(TSO, "OpenMarketPeriod", period())
    ledger.submit(BSP1, "SubmitOffer", offer(), transient={"price": PRICE})


def accepted(ledger: FakeLedger) -> None:
    market_ready(ledger)
    clock(ledger, GATE)
    ledger.submit(TSO, "UpdateOfferStatus", {"offerId": "OFF-1", "status": "Accepted"})


def activation(**changes: Any) -> dict[str, Any]:
    data = {
        "activationId": "ACT-1",
        "offerId": "OFF-1",
        "start": "2026-03-02T10:00:00Z",
        "durationMinutes": 30,
        "power": 100.0,
    }
    data.update(changes)
    return data


def activated(ledger: FakeLedger) -> None:
    """OFF-1 accepted; ACT-1 (100 kW up, 10:00-10:30) sent at 09:50 and acknowledged."""
    accepted(ledger)
    clock(ledger, "2026-03-02T09:50:00Z")
    ledger.submit(TSO, "SendActivation", activation())
    ledger.submit(BSP1, "AcknowledgeActivation", "ACT-1")


# The aggregate of the docs' first example: 50 kWh in the baseline step 09:30-09:45, 49 in the
# step after, 26 and 30 kWh in the activation's steps, 20 kWh in every other step.
EXAMPLE = {38: 50.0, 39: 49.0, 40: 26.0, 41: 30.0}


def day_energies(overrides: dict[int, float] | None = None, rest: float = 20.0) -> list[float]:
    values = [rest] * 96
    for index, value in (overrides if overrides is not None else EXAMPLE).items():
        values[index] = value
    return values


def series(resource: str, scope: str, energies: list[float], **changes: Any) -> dict[str, Any]:
    data = {
        "periodId": PERIOD,
        "resourceGroupId": U,
        "scope": scope,
        "resource": resource,
        "sha256": hashlib.sha256(f"{resource}:{energies}".encode()).hexdigest(),
        "size": 51234,
        "resolution": "PT1M",
        "start": DAY_START,
        "end": DAY_END,
        "points": 1440,
        "stepEnergies": energies,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def measured(ledger: FakeLedger, aggregate: list[float] | None = None) -> None:
    """The day over; the aggregate, both chargers (each half of it) and POD1 (5 kWh above the
    chargers at every step) anchored."""
    activated(ledger)
    clock(ledger, DAY_END)
    energies = aggregate or day_energies()
    ledger.submit(BSP1, "AnchorSeries", series(U, "aggregate", energies))
    for device in DEVICES:
        ledger.submit(BSP1, "AnchorSeries", series(device, "device", [e / 2 for e in energies]))
    ledger.submit(ARETI, "AnchorSeries", series(POD1, "pod", [e + 5.0 for e in energies]))
