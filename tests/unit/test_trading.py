"""The P2P trading contract, driven through the runtime's in-memory peer (no network)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chaincode.runtime import ContractRouter
from chaincode.runtime.testing import FakePeer, make_creator
from chaincode.trading import TradingContract, trade_cost

BUYER = make_creator("EVUsersMSP", "User1@evusers.cbp.local")
OPERATOR = make_creator("InfraOpMSP", "User1@infraop.cbp.local")


@pytest.fixture()
def peer():  # type: ignore[no-untyped-def]
    with FakePeer(ContractRouter([TradingContract]), channel_id="p2p-trading") as p:
        yield p


def _trade(trade_id: str = "T1", amount: str = "18.0") -> str:
    return json.dumps(
        {
            "tradeId": trade_id,
            "buyerId": "EV-B1",
            "sellerId": "EV-S1",
            "amountKwh": amount,
            "priceEurPerKwh": "0.15",
        }
    )


def test_trading_cost_matches_the_seed_examples() -> None:
    assert trade_cost(Decimal("18.0"), Decimal("0.15")) == Decimal("2.70")
    assert trade_cost(Decimal("43.5"), Decimal("0.15")) == Decimal("6.52")


def test_trading_buyer_submits_pending_then_operator_confirms(peer: FakePeer) -> None:
    out = peer.invoke("SubmitTrade", _trade(), creator=BUYER)
    assert out.status == 200, out.error
    assert json.loads(out.payload)["status"] == "Pending"
    out = peer.invoke(
        "ConfirmTrades", json.dumps([{"tradeId": "T1", "amountKwh": "18.0"}]), creator=OPERATOR
    )
    assert out.status == 200, out.error
    trade = json.loads(peer.invoke("ReadTrade", "T1", creator=BUYER).payload)
    assert trade["status"] == "Confirmed" and trade["costEur"] == "2.70"
    listed = json.loads(peer.invoke("ListTrades", "Confirmed", creator=BUYER).payload)
    assert [t["tradeId"] for t in listed["records"]] == ["T1"]
    assert json.loads(peer.invoke("ListTrades", "Pending", creator=BUYER).payload)["records"] == []


def test_trading_confirmed_trade_is_final(peer: FakePeer) -> None:
    peer.invoke("SubmitTrade", _trade(), creator=BUYER)
    peer.invoke("ConfirmTrades", json.dumps([{"tradeId": "T1"}]), creator=OPERATOR)
    again = peer.invoke("ConfirmTrades", json.dumps([{"tradeId": "T1"}]), creator=OPERATOR)
    assert again.status == 500 and "only Pending trades can be confirmed" in again.error


@pytest.mark.parametrize(
    ("creator", "fn", "arg", "message"),
    [
        (OPERATOR, "SubmitTrade", _trade(), "for EVUsersMSP identities"),
        (BUYER, "ConfirmTrades", json.dumps([{"tradeId": "T1"}]), "for InfraOpMSP identities"),
        (BUYER, "SubmitTrade", _trade(amount="-1"), "must be greater than 0"),
        (BUYER, "SubmitTrade", _trade(trade_id="bad id!"), "tradeId"),
    ],
)
def test_trading_refusals_change_nothing(
    peer: FakePeer, creator: bytes, fn: str, arg: str, message: str
) -> None:
    before = dict(peer.state)
    out = peer.invoke(fn, arg, creator=creator)
    assert out.status == 500 and message in out.error
    assert peer.state == before


def test_trading_batch_is_all_or_nothing(peer: FakePeer) -> None:
    peer.invoke("SubmitTrade", _trade("T1"), creator=BUYER)
    peer.invoke("SubmitTrade", _trade("T2"), creator=BUYER)
    before = dict(peer.state)
    batch = [{"tradeId": "T1", "amountKwh": "10"}, {"tradeId": "T2", "amountKwh": "99"}]
    out = peer.invoke("ConfirmTrades", json.dumps(batch), creator=OPERATOR)
    assert out.status == 500 and "exceeds the agreed 18.0 kWh" in out.error
    assert peer.state == before
