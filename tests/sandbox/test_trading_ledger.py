"""The P2P market on the running sandbox, through the gateway, as its parties use it.

The seed's own two trades (18.0 kWh -> 2.70 EUR, 43.5 kWh -> 6.52 EUR) pending, then
confirmed by the operator in one batch, with their events; every refusal the market promises,
with the ledger unchanged (no block added, the EVs' records as they were); two buyers racing
for a seller's last kWh: one wins, the other is refused (MVCC at commit, or the rule at
endorsement), never both; and `cbp simulate p2p --ledger` end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import CommitError, Contract, EndorseError, Gateway, from_profile
from network.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

CHANNEL = "p2p-trading"
PARAMS = {"buyThresholdPct": "70", "sellThresholdPct": "75", "priceEurPerKwh": "0.15"}


@pytest.fixture(scope="module")
def operator_gw(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("infraop", "User1", profile_path) as gw:
        yield gw


@pytest.fixture(scope="module")
def user_gw(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("evusers", "User1", profile_path) as gw:
        yield gw


@pytest.fixture(scope="module")
def tso_gw(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("tso", "User1", profile_path) as gw:
        yield gw


def trading(gw: Gateway) -> Contract:
    return gw.get_network(CHANNEL).get_contract("trading")


@pytest.fixture(scope="module")
def market(operator_gw: Gateway) -> None:
    """The seed's parameters in force (set once per ledger; other tests may have set them)."""
    op = trading(operator_gw)
    try:
        current = json.loads(op.evaluate_transaction("ReadMarketParameters"))
    except Exception:
        current = {}
    if any(current.get(k) != v for k, v in PARAMS.items()):
        op.submit_transaction("SetMarketParameters", json.dumps(PARAMS))


def _ids(*names: str) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{run}-{n}" for n in names]


def _declare(user: Contract, ev_id: str, capacity: Any, soc: Any) -> dict[str, Any]:
    body = {"evId": ev_id, "batteryCapacityKwh": capacity, "socPct": soc}
    return json.loads(user.submit_transaction("DeclareEv", json.dumps(body)))


def _trade(user: Contract, trade_id: str, buyer: str, seller: str, amount: Any) -> dict[str, Any]:
    body = {"tradeId": trade_id, "buyerId": buyer, "sellerId": seller, "amountKwh": amount}
    return json.loads(user.submit_transaction("SubmitTrade", json.dumps(body)))


def test_trading_seed_trades_pending_then_confirmed_in_one_batch(
    market: None, user_gw: Gateway, operator_gw: Gateway
) -> None:
    user, op = trading(user_gw), trading(operator_gw)
    b1, b2, s1, s2, t1, t2, batch = _ids("B1", "B2", "S1", "S2", "T1", "T2", "BATCH")
    assert _declare(user, b1, 60, 40)["requiredKwh"] == "18.000"  # (70 - 40) % x 60 kWh
    assert _declare(user, b2, 100, "26.5")["requiredKwh"] == "43.500"
    assert _declare(user, s1, 100, 95)["availableKwh"] == "20.000"
    assert _declare(user, s2, 200, 97)["availableKwh"] == "44.000"  # an electric bus

    first = user.new_proposal(
        "SubmitTrade",
        json.dumps({"tradeId": t1, "buyerId": b1, "sellerId": s1, "amountKwh": "18.0"}),
    ).endorse()
    commit = first.submit()
    commit.get_status().raise_for_status()
    start = commit.get_status().block_number
    _trade(user, t2, b2, s2, 43.5)
    pending = {t: json.loads(user.evaluate_transaction("ReadTrade", t)) for t in (t1, t2)}
    assert [(p["status"], p["amountKwh"], p["costEur"]) for p in pending.values()] == [
        ("Pending", "18.000", "2.70"),
        ("Pending", "43.500", "6.52"),
    ]

    out = json.loads(
        op.submit_transaction(
            "ConfirmTrades",
            json.dumps({"batchId": batch, "confirmations": [{"tradeId": t1}, {"tradeId": t2}]}),
        )
    )
    assert (out["count"], out["deliveredKwh"], out["costEur"]) == (2, "61.500", "9.22")
    read = json.loads(user.evaluate_transaction("ReadBatch", batch))
    assert [(t["tradeId"], t["status"], t["costEur"], t["batchId"]) for t in read["trades"]] == [
        (t1, "Confirmed", "2.70", batch),
        (t2, "Confirmed", "6.52", batch),
    ]
    assert read["confirmed"]["by"]["mspId"] == "InfraOpMSP"
    history = json.loads(user.evaluate_transaction("GetTradeHistory", t1))
    assert [h["value"]["status"] for h in history] == ["Pending", "Confirmed"]
    assert history[0]["txId"] == first.transaction_id
    balance = json.loads(user.evaluate_transaction("ReadEvBalance", s2))
    assert (balance["soldKwh"], balance["earnedEur"]) == ("43.500", "6.52")

    seen = []
    with user_gw.get_network(CHANNEL).chaincode_events(
        "trading", start_block=start, timeout=10
    ) as events:
        for event in events:
            payload = json.loads(event.payload)
            if payload.get("tradeId") in (t1, t2) or payload.get("batchId") == batch:
                seen.append((event.event_name, payload.get("tradeId") or payload["batchId"]))
            if payload.get("batchId") == batch:
                break
    assert seen == [("TradeSubmitted", t1), ("TradeSubmitted", t2), ("TradesConfirmed", batch)]


def _height(gw: Gateway) -> int:
    return gw.get_network(CHANNEL).get_chain_info().height


def test_trading_refusals_change_nothing_on_the_ledger(
    market: None, user_gw: Gateway, operator_gw: Gateway, tso_gw: Gateway
) -> None:
    user, op, tso = trading(user_gw), trading(operator_gw), trading(tso_gw)
    b, s, n, pending, done = _ids("B", "S", "N", "P", "D")
    _declare(user, b, 60, 40)  # needs 18.000
    _declare(user, s, 100, 95)  # has 20.000
    _declare(user, n, 60, 72)  # neutral
    _trade(user, pending, b, s, 5)
    _trade(user, done, b, s, 1)
    op.submit_transaction("ConfirmTrades", json.dumps({"confirmations": [{"tradeId": done}]}))

    def confirm(*ids: str, **delivered: str) -> tuple[str, str]:
        rows = [
            {"tradeId": i, **({"deliveredKwh": delivered[i]} if i in delivered else {})}
            for i in ids
        ]
        return "ConfirmTrades", json.dumps({"confirmations": rows})

    def submit(buyer: str, seller: str, amount: Any) -> tuple[str, str]:
        return "SubmitTrade", json.dumps(
            {"buyerId": buyer, "sellerId": seller, "amountKwh": amount}
        )

    cases: list[tuple[Contract, tuple[str, str], str]] = [
        (user, submit(b, s, "12.001"), f"exceeds buyer EV {b}'s remaining need of 12.000 kWh"),
        (user, submit(b, s, 15), f"exceeds buyer EV {b}'s remaining need"),
        (user, submit(b, s, 0), "field 'amountKwh': input should be greater than 0"),
        (user, submit(b, s, -2), "input should be greater than 0"),
        (user, submit(b, n, 1), f"EV {n} is a Neutral"),
        (user, submit(b, "nobody", 1), "NotFound: EV nobody is not declared"),
        (user, confirm(pending), "confirming trades is for the infrastructure operator"),
        (tso, confirm(pending), "the caller is TSOMSP"),
        (op, confirm(pending, "unknown-trade"), "NotFound: trade unknown-trade does not exist"),
        (op, confirm(done), f"trade {done} is Confirmed, which is final"),
        (op, confirm(pending, **{pending: "5.001"}), "exceeds the agreed 5.000 kWh"),
        (
            user,
            ("DeclareEv", json.dumps({"evId": b, "batteryCapacityKwh": 60, "socPct": 101})),
            "field 'socPct': input should be less than or equal to 100",
        ),
        (
            user,
            ("DeclareEv", json.dumps({"evId": "x1", "batteryCapacityKwh": 60, "socPct": -1})),
            "field 'socPct': input should be greater than or equal to 0",
        ),
        (user, ("SubmitTrade", "{not json"), "SubmitTrade argument 'trade' is not valid JSON"),
        (
            user,
            ("RejectTrade", json.dumps({"tradeId": pending, "reason": "x"})),
            "rejecting a trade is for the infrastructure operator",
        ),
    ]
    before = [user.evaluate_transaction("ReadEv", e) for e in (b, s, n)]
    before_trade = user.evaluate_transaction("ReadTrade", pending)
    height = _height(user_gw)
    for contract, (function, arg), message in cases:
        with pytest.raises(EndorseError) as info:
            contract.submit_transaction(function, arg)
        assert message in str(info.value), (function, arg, str(info.value))
    assert _height(user_gw) == height, "a refused transaction reached a block"
    assert [user.evaluate_transaction("ReadEv", e) for e in (b, s, n)] == before
    assert user.evaluate_transaction("ReadTrade", pending) == before_trade


def test_trading_two_buyers_race_for_the_last_kwh(market: None, user_gw: Gateway) -> None:
    user = trading(user_gw)
    b1, b2, s, t1, t2, t3 = _ids("B1", "B2", "S", "T1", "T2", "T3")
    _declare(user, b1, 60, 40)
    _declare(user, b2, 60, 40)
    assert _declare(user, s, 40, "77.5")["availableKwh"] == "1.000"  # its last kWh

    # Both endorsed on the same committed state: both look fine to the chaincode...
    proposals = [
        user.new_proposal(
            "SubmitTrade", json.dumps({"tradeId": t, "buyerId": b, "sellerId": s, "amountKwh": 1})
        ).endorse()
        for t, b in ((t1, b1), (t2, b2))
    ]
    # ...and validation lets only the first ordered one commit.
    commits = [p.submit() for p in proposals]
    outcomes = []
    for c in commits:
        try:
            c.get_status().raise_for_status()
            outcomes.append("VALID")
        except CommitError as exc:
            outcomes.append(exc.code_name)
    assert sorted(outcomes) == ["MVCC_READ_CONFLICT", "VALID"]
    winner = (t1, t2)[outcomes.index("VALID")]
    loser = (t1, t2)[outcomes.index("MVCC_READ_CONFLICT")]
    assert json.loads(user.evaluate_transaction("ReadTrade", winner))["status"] == "Pending"
    with pytest.raises(Exception, match=f"trade {loser} does not exist"):
        user.evaluate_transaction("ReadTrade", loser)
    assert json.loads(user.evaluate_transaction("ReadEv", s))["remainingKwh"] == "0.000"

    # A buyer coming after the commit is refused by the rule itself.
    with pytest.raises(EndorseError, match=f"exceeds seller EV {s}'s remaining 0.000 kWh"):
        _trade(user, t3, b2, s, "0.001")


def test_trading_simulate_p2p_on_the_ledger(
    market: None, sandbox: Sandbox, profile_path: str, tmp_path: Path
) -> None:
    """`cbp simulate p2p --ledger` with 1,000 EVs drives the sandbox, confirms a full batch of
    500 trades in one transaction under the orderer's preferred block size, and checks that
    the ledger's trades equal its CSV."""
    out = tmp_path / "p2p"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cbp",
            "simulate",
            "p2p",
            "--evs",
            "1000",
            "--out",
            str(out),
            "--ledger",
            "--profile",
            profile_path,
            "--batch-size",
            "500",
        ],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr
    rows = (out / "trades.csv").read_text().splitlines()
    trades = len(rows) - 1
    assert trades > 500
    assert f"checked                 {trades} trades on the ledger equal trades.csv" in proc.stdout
    ledger = json.loads((out / "summary.json").read_text())["ledger"]
    assert ledger["tradesChecked"] == trades
    assert ledger["confirmationsPerBatch"][0] == 500
    assert sum(ledger["confirmationsPerBatch"]) <= trades
    assert 0 < ledger["largestBatchBytes"] < 2 * 1024 * 1024  # topology: preferred_max_bytes
    assert {p.name for p in out.glob("*.png")} == {
        "load_profile.png",
        "soc_capacity.png",
        "energy_per_ev.png",
        "cost_buyers.png",
    }
