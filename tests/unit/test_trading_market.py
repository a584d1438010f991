"""The P2P market on an in-memory ledger: parameters, EVs, trades, batches, reads; and every
refusal the market promises, with a message naming the rule and the state unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from registry_fakes import FakeLedger, Identity
from trading_fakes import (
    ALICE,
    BOB,
    OPERATOR,
    TSO,
    ev,
    new_market,
    params,
    seed_market,
    state_of,
    trade,
)

from chaincode.runtime import ChaincodeError


def test_trading_seed_trades_pending_then_confirmed_in_one_batch() -> None:
    ledger = seed_market()
    t1 = ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", "18.0", "T1"))
    t2 = ledger.submit(ALICE, "SubmitTrade", trade("B2", "S2", 43.5, "T2"))
    assert (t1["status"], t1["amountKwh"], t1["costEur"]) == ("Pending", "18.000", "2.70")
    assert (t2["status"], t2["amountKwh"], t2["costEur"]) == ("Pending", "43.500", "6.52")
    pending = ledger.evaluate(OPERATOR, "ListTradesByStatus", "Pending", 100, "")
    assert [t["tradeId"] for t in pending["records"]] == ["T1", "T2"]

    out = ledger.submit(
        OPERATOR,
        "ConfirmTrades",
        {"batchId": "B-1", "confirmations": [{"tradeId": "T1"}, {"tradeId": "T2"}]},
    )
    assert out == {
        "batchId": "B-1",
        "costEur": "9.22",
        "count": 2,
        "deliveredKwh": "61.500",
        "tradeIds": ["T1", "T2"],
    }
    assert ledger.events[-1].name == "TradesConfirmed"
    confirmed = ledger.evaluate(ALICE, "ListTradesByStatus", "Confirmed", 100, "")["records"]
    assert [(t["tradeId"], t["deliveredKwh"], t["costEur"], t["batchId"]) for t in confirmed] == [
        ("T1", "18.000", "2.70", "B-1"),
        ("T2", "43.500", "6.52", "B-1"),
    ]
    assert ledger.evaluate(ALICE, "ListTradesByStatus", "Pending", 100, "")["records"] == []
    batch = ledger.evaluate(TSO, "ReadBatch", "B-1")
    assert [t["status"] for t in batch["trades"]] == ["Confirmed", "Confirmed"]
    assert ledger.evaluate(ALICE, "ReadEvBalance", "B2")["paidEur"] == "6.52"
    assert ledger.evaluate(ALICE, "ReadEvBalance", "S2")["earnedEur"] == "6.52"


def test_trading_ev_declaration_follows_equations_1_to_3() -> None:
    ledger = new_market()
    buyer = ledger.submit(ALICE, "DeclareEv", ev("B", 60, "42.3"))
    seller = ledger.submit(ALICE, "DeclareEv", ev("S", 80, 90))
    neutral = ledger.submit(ALICE, "DeclareEv", ev("N", 40, 72))
    assert (buyer["role"], buyer["requiredKwh"], buyer["availableKwh"]) == (
        "Buyer",
        "16.620",
        "0.000",
    )
    assert (seller["role"], seller["requiredKwh"], seller["availableKwh"]) == (
        "Seller",
        "0.000",
        "12.000",
    )
    assert (neutral["role"], neutral["remainingKwh"]) == ("Neutral", "0.000")
    assert buyer["owner"] == "User1@evusers.cbp.local" and buyer["paramsVersion"] == 1
    assert ledger.events[-1].name == "EvDeclared"


def test_trading_thresholds_are_exact_at_the_boundary() -> None:
    ledger = new_market()
    at_tb = ledger.submit(ALICE, "DeclareEv", ev("A", 60, 70))  # SoC = T_b: not a buyer
    at_ts = ledger.submit(ALICE, "DeclareEv", ev("B", 60, 75))  # SoC = T_s: not a seller
    below = ledger.submit(ALICE, "DeclareEv", ev("C", 60, "69.99"))
    assert (at_tb["role"], at_ts["role"], below["role"]) == ("Neutral", "Neutral", "Buyer")
    assert below["requiredKwh"] == "0.006"


def test_trading_operator_declares_for_an_ev_user() -> None:
    ledger = new_market()
    record = ledger.submit(OPERATOR, "DeclareEv", ev("B", 60, 40, owner="User2@evusers.cbp.local"))
    assert record["owner"] == "User2@evusers.cbp.local"
    ledger.submit(ALICE, "DeclareEv", ev("S", 100, 95))
    ledger.submit(BOB, "SubmitTrade", trade("B", "S", 5, "T1"))  # Bob owns B
    with pytest.raises(ChaincodeError, match="only EV B's owner"):
        ledger.submit(ALICE, "SubmitTrade", trade("B", "S", 5, "T2"))


def test_trading_parameters_are_versioned_and_a_trade_keeps_its_price() -> None:
    ledger = seed_market()
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 10, "T1"))
    v2 = ledger.submit(OPERATOR, "SetMarketParameters", params(priceEurPerKwh="0.20"))
    assert v2["version"] == 2
    assert ledger.evaluate(ALICE, "ReadMarketParameters", 1)["priceEurPerKwh"] == "0.15"
    assert ledger.evaluate(ALICE, "ReadMarketParameters", 0)["priceEurPerKwh"] == "0.2"
    ledger.submit(OPERATOR, "ConfirmTrades", {"confirmations": [{"tradeId": "T1"}]})
    confirmed = ledger.evaluate(ALICE, "ReadTrade", "T1")
    assert (confirmed["priceEurPerKwh"], confirmed["costEur"], confirmed["paramsVersion"]) == (
        "0.15",
        "1.50",
        1,
    )
    # EVs declared under v1 trade again only once declared under v2
    with pytest.raises(ChaincodeError, match="declared under market parameters v1, v2 is in force"):
        ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 1, "T2"))
    ledger.submit(ALICE, "DeclareEv", ev("B1", 60, 40))
    ledger.submit(ALICE, "DeclareEv", ev("S1", 100, 95))
    t2 = ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 1, "T2"))
    assert (t2["priceEurPerKwh"], t2["costEur"]) == ("0.2", "0.20")


def test_trading_partial_delivery_gives_the_difference_back() -> None:
    ledger = seed_market()
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 18, "T1"))
    assert state_of(ledger, "S1")["remainingKwh"] == "2.000"
    ledger.submit(
        OPERATOR, "ConfirmTrades", {"confirmations": [{"tradeId": "T1", "deliveredKwh": "12.5"}]}
    )
    t1 = ledger.evaluate(ALICE, "ReadTrade", "T1")
    assert (t1["amountKwh"], t1["deliveredKwh"], t1["costEur"], t1["agreedCostEur"]) == (
        "18.000",
        "12.500",
        "1.88",  # 1.875 -> half to even
        "2.70",
    )
    assert state_of(ledger, "B1")["remainingKwh"] == "5.500"
    assert state_of(ledger, "S1")["remainingKwh"] == "7.500"


def test_trading_rejection_releases_energy_and_is_final() -> None:
    ledger = seed_market()
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 18, "T1"))
    out = ledger.submit(OPERATOR, "RejectTrade", {"tradeId": "T1", "reason": "charger fault"})
    assert (out["status"], out["reason"], out["costEur"]) == ("Rejected", "charger fault", "0.00")
    assert state_of(ledger, "B1")["remainingKwh"] == "18.000"
    assert state_of(ledger, "S1")["remainingKwh"] == "20.000"
    assert ledger.events[-1].name == "TradeRejected"
    with pytest.raises(ChaincodeError, match="Rejected, which is final"):
        ledger.submit(OPERATOR, "ConfirmTrades", {"confirmations": [{"tradeId": "T1"}]})


def test_trading_reads_by_ev_balance_and_history() -> None:
    ledger = seed_market()
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 10, "T1"))
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S2", 8, "T2"))
    ledger.submit(OPERATOR, "ConfirmTrades", {"batchId": "X", "confirmations": [{"tradeId": "T1"}]})
    by_ev = ledger.evaluate(ALICE, "ListTradesByEv", "B1", 100, "")
    assert [t["tradeId"] for t in by_ev["records"]] == ["T1", "T2"]
    assert ledger.evaluate(ALICE, "ReadEvBalance", "B1") == {
        "boughtKwh": "10.000",
        "earnedEur": "0.00",
        "evId": "B1",
        "paidEur": "1.50",
        "pendingBoughtKwh": "8.000",
        "pendingSoldKwh": "0.000",
        "remainingKwh": "0.000",
        "role": "Buyer",
        "soldKwh": "0.000",
        "trades": {"Confirmed": 1, "Pending": 1, "Rejected": 0},
    }
    history = ledger.evaluate(TSO, "GetTradeHistory", "T1")
    assert [h["value"]["status"] for h in history] == ["Pending", "Confirmed"]
    assert history[1]["value"]["confirmed"]["by"]["mspId"] == "InfraOpMSP"
    page = ledger.evaluate(TSO, "ListEvs", 2, "")
    assert [e["evId"] for e in page["records"]] == ["B1", "B2"] and page["bookmark"]


def test_trading_redeclaring_waits_for_pending_trades() -> None:
    ledger = seed_market()
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S1", 5, "T1"))
    with pytest.raises(ChaincodeError, match="EV B1 has pending trades \\(T1\\)"):
        ledger.submit(ALICE, "DeclareEv", ev("B1", 60, 50))
    ledger.submit(OPERATOR, "ConfirmTrades", {"confirmations": [{"tradeId": "T1"}]})
    again = ledger.submit(ALICE, "DeclareEv", ev("B1", 60, 50))
    assert (again["stay"], again["remainingKwh"]) == (2, "12.000")


# --- refusals: each names its rule and changes nothing ----------------------------------------

Case = tuple[Identity, str, Callable[[], Any], str]


def _batch(*ids: str, **delivered: Any) -> dict[str, Any]:
    return {
        "confirmations": [
            {"tradeId": i, **({"deliveredKwh": delivered[i]} if i in delivered else {})}
            for i in ids
        ]
    }


REFUSALS: dict[str, Case] = {
    "over the buyer's need": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "S2", "12.001"),
        "InsufficientEnergy: trade TRD-.*exceeds buyer EV B1's remaining need of 12.000 kWh",
    ),
    "over the seller's remaining energy": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B2", "S1", 20.5),
        "exceeds seller EV S1's remaining 20.000 kWh",
    ),
    "over what a pending trade left": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B2", "S2", 35),
        "exceeds seller EV S2's remaining 34.000 kWh",
    ),
    "zero amount": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "S1", 0),
        "field 'amountKwh': input should be greater than 0",
    ),
    "negative amount": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "S1", -3),
        "input should be greater than 0",
    ),
    "more decimals than a Wh": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "S1", "1.0001"),
        "no more than 3 decimal places",
    ),
    "a seller that is not a seller": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "B2", 1),
        "EV B2 is a Buyer .*only a Seller may sell",
    ),
    "a buyer that is not a buyer": (
        ALICE,
        "SubmitTrade",
        lambda: trade("S1", "S2", 1),
        "EV S1 is a Seller .*only a Buyer may buy",
    ),
    "buyer and seller the same": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "B1", 1),
        "buyer and seller are both EV B1",
    ),
    "an undeclared EV": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B1", "S9", 1),
        "NotFound: EV S9 is not declared",
    ),
    "not the buyer's owner": (
        BOB,
        "SubmitTrade",
        lambda: trade("B1", "S1", 1),
        "Forbidden: trade .*only EV B1's owner",
    ),
    "the operator submitting": (
        OPERATOR,
        "SubmitTrade",
        lambda: trade("B1", "S1", 1),
        "submitting a trade is for EV users \\(EVUsersMSP\\); the caller is InfraOpMSP",
    ),
    "a duplicate trade id": (
        ALICE,
        "SubmitTrade",
        lambda: trade("B2", "S2", 1, "P1"),
        "AlreadyExists: trade P1 already exists",
    ),
    "a buyer confirming": (
        ALICE,
        "ConfirmTrades",
        lambda: _batch("P1"),
        "Forbidden: confirming trades is for the infrastructure operator \\(InfraOpMSP\\); the caller is EVUsersMSP",
    ),
    "a non-operator confirming": (
        TSO,
        "ConfirmTrades",
        lambda: _batch("P1"),
        "the caller is TSOMSP",
    ),
    "confirming an unknown trade": (
        OPERATOR,
        "ConfirmTrades",
        lambda: _batch("P1", "NOPE"),
        "NotFound: trade NOPE does not exist",
    ),
    "confirming a final trade": (
        OPERATOR,
        "ConfirmTrades",
        lambda: _batch("P1", "DONE"),
        "WrongState: trade DONE is Confirmed, which is final",
    ),
    "confirming a trade twice in a batch": (
        OPERATOR,
        "ConfirmTrades",
        lambda: _batch("P1", "P1"),
        "trade P1 appears twice",
    ),
    "delivering more than agreed": (
        OPERATOR,
        "ConfirmTrades",
        lambda: _batch("P1", P1="6.001"),
        "delivered 6.001 kWh exceeds the agreed 6.000 kWh",
    ),
    "an empty batch": (
        OPERATOR,
        "ConfirmTrades",
        lambda: {"confirmations": []},
        "field 'confirmations': list should have at least 1 item",
    ),
    "a batch over 500": (
        OPERATOR,
        "ConfirmTrades",
        lambda: _batch(*[f"X{i}" for i in range(501)]),
        "at most 500 items",
    ),
    "rejecting a final trade": (
        OPERATOR,
        "RejectTrade",
        lambda: {"tradeId": "DONE", "reason": "late"},
        "trade DONE is Confirmed, which is final",
    ),
    "rejecting without a reason": (
        OPERATOR,
        "RejectTrade",
        lambda: {"tradeId": "P1", "reason": " "},
        "field 'reason': string should have at least 1 character",
    ),
    "a buyer rejecting": (
        ALICE,
        "RejectTrade",
        lambda: {"tradeId": "P1", "reason": "x"},
        "rejecting a trade is for the infrastructure operator",
    ),
    "SoC over 100 %": (
        ALICE,
        "DeclareEv",
        lambda: ev("E1", 60, "100.5"),
        "EV E1: field 'socPct': input should be less than or equal to 100",
    ),
    "SoC under 0 %": (
        ALICE,
        "DeclareEv",
        lambda: ev("E1", 60, -1),
        "field 'socPct': input should be greater than or equal to 0",
    ),
    "capacity zero": (
        ALICE,
        "DeclareEv",
        lambda: ev("E1", 0, 50),
        "field 'batteryCapacityKwh': input should be greater than 0",
    ),
    "SoC not a number": (ALICE, "DeclareEv", lambda: ev("E1", 60, "half"), "field 'socPct'"),
    "a bad EV id": (ALICE, "DeclareEv", lambda: ev("bad id!", 60, 50), "'bad id!' is not an id"),
    "an unknown field": (
        ALICE,
        "DeclareEv",
        lambda: {**ev("E1", 60, 50), "colour": "red"},
        "field 'colour' is not a known field",
    ),
    "declaring another user's EV": (
        BOB,
        "DeclareEv",
        lambda: ev("B1", 60, 50),
        "Forbidden: EV B1 belongs to User1@evusers.cbp.local",
    ),
    "declaring for someone else": (
        ALICE,
        "DeclareEv",
        lambda: ev("E1", 60, 50, owner="User2@evusers.cbp.local"),
        "an EV user declares its own EVs",
    ),
    "the operator declaring without an owner": (
        OPERATOR,
        "DeclareEv",
        lambda: ev("E1", 60, 50),
        "names its owner",
    ),
    "the TSO declaring": (
        TSO,
        "DeclareEv",
        lambda: ev("E1", 60, 50),
        "declaring an EV is for EV users",
    ),
    "an EV user setting parameters": (
        ALICE,
        "SetMarketParameters",
        lambda: params(),
        "setting the market parameters is for the infrastructure operator",
    ),
    "thresholds crossed": (
        OPERATOR,
        "SetMarketParameters",
        lambda: params(buyThresholdPct=80),
        "buyThresholdPct 80 is above sellThresholdPct 75",
    ),
    "a zero price": (
        OPERATOR,
        "SetMarketParameters",
        lambda: params(priceEurPerKwh=0),
        "field 'priceEurPerKwh': input should be greater than 0",
    ),
}


def _market_with_history() -> FakeLedger:
    """seed_market plus a pending trade P1 (B1 <- S2, 6 kWh) and a confirmed one, DONE."""
    ledger = seed_market()
    ledger.submit(ALICE, "SubmitTrade", trade("B1", "S2", 6, "P1"))
    ledger.submit(ALICE, "SubmitTrade", trade("B2", "S2", 4, "DONE"))
    ledger.submit(OPERATOR, "ConfirmTrades", {"confirmations": [{"tradeId": "DONE"}]})
    return ledger


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_trading_refusal_names_the_rule_and_changes_nothing(name: str) -> None:
    who, function, body, message = REFUSALS[name]
    ledger = _market_with_history()
    before = ledger.snapshot()
    with pytest.raises(ChaincodeError) as info:
        ledger.submit(who, function, body())
    assert info.value.status in (403, 404, 409, 422)
    assert re.search(message, str(info.value)), str(info.value)
    assert ledger.snapshot() == before
    assert ledger.refused_writes == {}, "a refusal wrote before it checked everything"


@pytest.mark.parametrize(
    ("function", "raw", "message"),
    [
        ("SubmitTrade", b"{", "SubmitTrade argument 'trade' is not valid JSON"),
        ("SubmitTrade", b"[1]", "must be a JSON object, not list"),
        ("DeclareEv", b"\xff", "DeclareEv argument 'ev' is not UTF-8"),
    ],
)
def test_trading_malformed_arguments_are_refused(function: str, raw: bytes, message: str) -> None:
    ledger = seed_market()
    before = ledger.snapshot()
    with pytest.raises(ChaincodeError, match=message):
        ledger.submit(ALICE, function, raw)
    assert ledger.snapshot() == before


def test_trading_nothing_before_the_parameters_are_set() -> None:
    from trading_fakes import TradingContract  # type: ignore[attr-defined]

    ledger = FakeLedger(contract=TradingContract())  # type: ignore[arg-type]
    with pytest.raises(ChaincodeError, match="market parameters are not set yet"):
        ledger.submit(ALICE, "DeclareEv", ev("E1", 60, 50))
    assert ledger.state == {}


def test_trading_records_are_deterministic_json() -> None:
    ledger = seed_market()
    for value in ledger.state.values():
        if value != b"\x00":
            assert (
                value
                == json.dumps(json.loads(value), sort_keys=True, separators=(",", ":")).encode()
            )


def test_trading_a_buyer_never_confirms_its_own_trade_even_in_one_org() -> None:
    """Where one organisation plays both parts, the submitter still cannot settle its trade."""
    from chaincode.runtime import ChaincodeConfig
    from chaincode.trading import Parties, TradingContract

    class OneOrg(TradingContract):
        def configure(self, config: ChaincodeConfig) -> None:
            super().configure(config)
            self.parties = Parties(operator_msp_id="InfraOpMSP", ev_users_msp_id="InfraOpMSP")

    ledger = FakeLedger(contract=OneOrg())  # type: ignore[arg-type]
    ledger.submit(OPERATOR, "SetMarketParameters", params())
    me = "User1@infraop.cbp.local"
    ledger.submit(OPERATOR, "DeclareEv", ev("B", 60, 40, owner=me))
    ledger.submit(OPERATOR, "DeclareEv", ev("S", 100, 95, owner=me))
    ledger.submit(OPERATOR, "SubmitTrade", trade("B", "S", 5, "T1"))
    before = ledger.snapshot()
    for function, body in (
        ("ConfirmTrades", {"confirmations": [{"tradeId": "T1"}]}),
        ("RejectTrade", {"tradeId": "T1", "reason": "mine"}),
    ):
        with pytest.raises(ChaincodeError, match="submitted by the caller; a buyer may not"):
            ledger.submit(OPERATOR, function, body)
    assert ledger.snapshot() == before
