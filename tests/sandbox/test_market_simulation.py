"""`cbp simulate journey`'s engine on the test sandbox: a small fleet through every phase.

Through the connectors' API as the command runs it; the outcome is checked as a user would:
every activation verified on the ledger and settled on the statement, the statement adding up,
every series anchored, the figure written.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from connectors import Connectors

from connector.client import ConnectorClient
from simulations.journey.figures import write_figure
from simulations.journey.journey import Journey

pytestmark = pytest.mark.sandbox


def test_market_simulation_small_fleet_through_every_phase(
    connectors: Connectors, tmp_path: Path
) -> None:
    clients = {}
    for org in ("bsp1", "tso", "areti"):
        client = ConnectorClient(connectors.urls[org])
        client.log_in(f"{org}-operator", connectors.password(org, "operator"))
        clients[org] = client
    said: list[str] = []
    journey = Journey(12, 2, date(2026, 5, 6), said.append, clients)
    try:
        outcome = journey.run_all()
    finally:
        journey.close()

    assert [p.name for p in outcome.phases] == [
        "registration",
        "qualification",
        "bidding",
        "activation",
        "delivery and measurements",
        "verification",
        "settlement",
    ]
    assert outcome.sites == 2 and outcome.series == 12 + 1 + 2
    activations = {a["activationId"]: a for a in outcome.activations}
    assert activations and all(a["status"] == "Verified" for a in activations.values())
    for a in activations.values():
        check = a["verification"]
        assert 0.0 <= check["ratio"] <= 1.0
        assert check["passed"] == (check["ratio"] >= 0.9 and "failure" not in check)
        assert check["devices"]["series"] == 12 and check["devices"]["maxDeviation"] < 0.05
        assert check["pods"]["series"] == 2
    lines = outcome.statement["lines"]
    assert {line["activationId"] for line in lines} == set(activations)
    total = round(sum(line["amount"] for line in lines), 2)
    assert outcome.statement["totals"]["amount"] == total
    for line in lines:
        paid = min(line["deliveredKwh"], line["requestedKwh"]) * 0.18
        assert abs(line["remuneration"] - paid) <= 0.005 + 1e-9
    settled = clients["bsp1"].get(f"/market/activations/{lines[0]['activationId']}")
    assert settled["status"] == "Settled"
    assert any("registration:" in s for s in said) and any("settlement:" in s for s in said)

    png = write_figure(outcome, tmp_path / "journey.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
