"""The market journey on the in-memory ledger: bid, accept, activate, measure, verify, settle.

The numbers are the first worked example of docs/market.md: 44 of 50 kWh delivered (88 %, not
passed), 8.80 EUR earned, 0.30 EUR penalty, 8.50 EUR due.
"""

from __future__ import annotations

import json

import pytest
from market_fakes import (
    DAY_END,
    DEVICES,
    GATE,
    PERIOD,
    PRICE,
    U,
    activated,
    clock,
    market_ready,
    measured,
    offer,
    period,
)
from registry_fakes import ARETI, BSP1, BSP1_EIC, BSP2, POD1, TSO, FakeLedger, bootstrapped

from chaincode.runtime import ChaincodeError


def _journey() -> FakeLedger:
    ledger = bootstrapped()
    measured(ledger)
    ledger.submit(TSO, "VerifyActivation", "ACT-1")
    ledger.submit(
        TSO, "IssueStatement", {"periodId": PERIOD, "flexibilityServiceProviderId": BSP1_EIC}
    )
    return ledger


def test_registry_market_period_opens_with_its_steps_and_clock() -> None:
    ledger = bootstrapped()
    record = ledger.submit(TSO, "OpenMarketPeriod", period())
    assert record["status"] == "Open" and record["steps"] == 96
    assert record["clock"] == "demo" and record["demoTime"] == "2026-03-01T10:00:00Z"
    read = ledger.evaluate(BSP1, "ReadMarketPeriod", PERIOD)
    assert read["marketTime"] == "2026-03-01T10:00:00Z"
    assert [e.name for e in ledger.events] == ["MarketPeriodOpened"]


def test_registry_market_offer_keeps_its_price_private() -> None:
    ledger = bootstrapped()
    market_ready(ledger)
    public = ledger.evaluate(TSO, "ReadOffer", "OFF-1")
    assert public["status"] == "Submitted" and public["direction"] == "A01"
    assert "price" not in json.dumps(public) and "amount" not in public
    assert ledger.evaluate(BSP1, "ReadOfferPrice", "OFF-1")["amount"] == 200.0
    assert ledger.evaluate(TSO, "ReadOfferPrice", "OFF-1")["currency"] == "EUR"
    # nowhere in the world state (what every channel peer holds), only in the collection
    assert not any(b'"amount"' in v for v in ledger.state.values())
    assert [v for (c, _), v in ledger.private.items() if c == "settlement"]
    with pytest.raises(ChaincodeError, match="for BSP 10XIT-BSP-ALFA-U and the TSO only"):
        ledger.evaluate(ARETI, "ReadOfferPrice", "OFF-1")


def test_registry_market_up_and_down_are_equigys_codes() -> None:
    ledger = bootstrapped()
    market_ready(ledger)
    down = ledger.submit(
        BSP1,
        "SubmitOffer",
        offer(50.0, offerId="OFF-2", direction="down"),
        transient={"price": PRICE},
    )
    assert down["direction"] == "A02"


def test_registry_market_whole_journey_with_its_events() -> None:
    ledger = _journey()
    names = [e.name for e in ledger.events]
    assert names[-1] == "StatementIssued"
    statement_changes = [c["event"] for c in ledger.events[-1].payload["changes"]]
    assert statement_changes == ["ActivationSettled", "StatementIssued"]
    for name in (
        "OfferSubmitted",
        "OfferAccepted",
        "ActivationSent",
        "ActivationAcknowledged",
        "SeriesAnchored",
        "PodSeriesAnchored",
        "ActivationVerified",
    ):
        assert name in names, name
    # no event payload carries an amount or a price: events are read by every channel member
    assert not any("amount" in json.dumps(e.payload) for e in ledger.events)


def test_registry_market_verification_is_the_documented_example() -> None:
    ledger = _journey()
    record = ledger.evaluate(TSO, "ReadActivation", "ACT-1")
    assert record["status"] == "Settled"
    check = record["verification"]
    assert check["baselineStep"] == {
        "start": "2026-03-02T09:30:00Z",
        "end": "2026-03-02T09:45:00Z",
    }
    assert check["baselineKw"] == 200.0
    assert [s["deliveredKwh"] for s in check["steps"]] == [24.0, 20.0]
    assert (check["requestedKwh"], check["deliveredKwh"], check["ratio"]) == (50.0, 44.0, 0.88)
    assert check["passed"] is False and "delivered 88.0%" in check["failure"]
    assert check["devices"] == {"maxDeviation": 0.0, "notCovering": 0, "series": 2}
    # the POD meters show the same response (each step 5 kWh above the chargers)
    assert check["pods"]["deliveredKwh"] == 44.0 and check["pods"]["series"] == 1
    assert len(check["series"]) == 4 and all(len(s["sha256"]) == 64 for s in check["series"])


def test_registry_market_statement_is_the_documented_amount_for_the_bsp_and_tso_only() -> None:
    ledger = _journey()
    sid = f"STM-{PERIOD}-{BSP1_EIC}"
    for who in (BSP1, TSO):
        statement = ledger.evaluate(who, "ReadStatement", sid)
        [line] = statement["lines"]
        assert (line["remuneration"], line["penalty"], line["amount"]) == (8.8, 0.3, 8.5)
        assert statement["totals"]["amount"] == 8.5 and statement["currency"] == "EUR"
    public = json.loads(ledger.state[next(k for k in ledger.state if sid in k)])
    assert "totals" not in public and "lines" in public and public["lines"] == 1
    for who in (ARETI, BSP2):
        with pytest.raises(ChaincodeError) as info:
            ledger.evaluate(who, "ReadStatement", sid)
        assert info.value.status == 403
        assert "readable by BSP 10XIT-BSP-ALFA-U and the TSO only" in info.value.message


def test_registry_market_dso_reads_the_activation_of_its_pods() -> None:
    ledger = bootstrapped()
    activated(ledger)
    record = ledger.evaluate(ARETI, "ReadActivation", "ACT-1")
    assert record["pods"] == [POD1] and record["dsos"] == ["10XIT-ARETI----C"]
    assert record["leadMinutes"] == 10.0 and record["sentAt"] == "2026-03-02T09:50:00Z"
    assert record["acknowledgement"]["by"] == BSP1_EIC


def test_registry_market_series_anchor_holds_hash_size_and_step_energies() -> None:
    ledger = bootstrapped()
    measured(ledger)
    anchor = ledger.evaluate(TSO, "ReadSeries", f"SER-{PERIOD}-{U}")
    assert anchor["status"] == "Anchored" and anchor["scope"] == "aggregate"
    assert len(anchor["stepEnergies"]) == 96 and anchor["energyTotal"] == 1995.0
    assert anchor["size"] == 51234 and len(anchor["sha256"]) == 64
    listed = ledger.evaluate(BSP1, "ListSeriesByUvam", PERIOD, U, 10, "")["records"]
    assert {r["resource"] for r in listed} == {U, POD1, *DEVICES}


def test_registry_market_withdrawn_offer_frees_its_slot() -> None:
    ledger = bootstrapped()
    market_ready(ledger)
    ledger.submit(BSP1, "UpdateOfferStatus", {"offerId": "OFF-1", "status": "Withdrawn"})
    again = ledger.submit(BSP1, "SubmitOffer", offer(offerId="OFF-3"), transient={"price": PRICE})
    assert again["status"] == "Submitted"


def test_registry_market_clock_and_gate_move_only_forward() -> None:
    ledger = bootstrapped()
    ledger.submit(TSO, "OpenMarketPeriod", period())
    moved = ledger.submit(TSO, "MoveMarketGate", PERIOD, {"gateClosure": "2026-03-01T18:00:00Z"})
    assert moved["gateClosure"] == "2026-03-01T18:00:00Z"
    clock(ledger, "2026-03-01T19:00:00Z")
    with pytest.raises(ChaincodeError, match="a passed gate does not reopen"):
        ledger.submit(TSO, "MoveMarketGate", PERIOD, {"gateClosure": "2026-03-01T20:00:00Z"})
    with pytest.raises(ChaincodeError, match="the clock moves forward only"):
        clock(ledger, GATE)
    clock(ledger, DAY_END)


def test_registry_market_ledger_clock_is_the_transaction_time() -> None:
    ledger = bootstrapped()  # the peer stamps its transactions 2026-01-01 00:00:01 onwards
    record = ledger.submit(
        TSO,
        "OpenMarketPeriod",
        period(clock=None, demoTime=None, gateClosure="2026-01-01T00:05:00Z"),
    )
    assert record["clock"] == "ledger"
    assert ledger.evaluate(TSO, "ReadMarketPeriod", PERIOD)["marketTime"].startswith(
        "2026-01-01T00:00"
    )
