"""The trading chaincode on the registry's in-memory ledger (``registry_fakes.FakeLedger``):
identities of the p2p-trading channel's parties, and request builders."""

from __future__ import annotations

import json
from typing import Any

from registry_fakes import FakeLedger, Identity

from chaincode.trading import TradingContract

OPERATOR = Identity(
    "InfraOpMSP", "User1@infraop.cbp.local", (("hf.EnrollmentID", "User1@infraop.cbp.local"),)
)
ALICE = Identity(
    "EVUsersMSP", "User1@evusers.cbp.local", (("hf.EnrollmentID", "User1@evusers.cbp.local"),)
)
BOB = Identity(
    "EVUsersMSP", "User2@evusers.cbp.local", (("hf.EnrollmentID", "User2@evusers.cbp.local"),)
)
TSO = Identity("TSOMSP", "User1@tso.cbp.local", (("hf.EnrollmentID", "User1@tso.cbp.local"),))

SEED_PARAMS = {"buyThresholdPct": 70, "sellThresholdPct": 75, "priceEurPerKwh": "0.15"}


def params(**changes: Any) -> dict[str, Any]:
    return {**SEED_PARAMS, **changes}


def ev(ev_id: str, capacity: Any, soc: Any, **extra: Any) -> dict[str, Any]:
    return {"evId": ev_id, "batteryCapacityKwh": capacity, "socPct": soc, **extra}


def trade(buyer: str, seller: str, amount: Any, trade_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"buyerId": buyer, "sellerId": seller, "amountKwh": amount}
    if trade_id is not None:
        body["tradeId"] = trade_id
    return body


def new_market(**changes: Any) -> FakeLedger:
    """A market whose operator set the parameters (T_b 70 %, T_s 75 %, P 0.15 EUR/kWh)."""
    ledger = FakeLedger(contract=TradingContract())  # type: ignore[arg-type]
    ledger.submit(OPERATOR, "SetMarketParameters", params(**changes))
    ledger.events.clear()
    return ledger


def seed_market() -> FakeLedger:
    """The EVs of the seed's two trades (18.0 kWh -> 2.70 EUR, 43.5 kWh -> 6.52 EUR).

    Buyers (eq. 2, T_b 70 %): B1 60 kWh at 40 % needs 18.0 kWh; B2 100 kWh at 26.5 % needs
    43.5 kWh. Sellers (eq. 3, T_s 75 %): S1 100 kWh at 95 % has 20.0 kWh; S2, an electric
    bus, 200 kWh at 97 % has 44.0 kWh.
    """
    ledger = new_market()
    for body in (
        ev("B1", 60, 40),
        ev("B2", 100, "26.5"),
        ev("S1", 100, 95),
        ev("S2", 200, 97),
    ):
        ledger.submit(ALICE, "DeclareEv", body)
    ledger.events.clear()
    return ledger


def state_of(ledger: FakeLedger, key_part: str) -> dict[str, Any]:
    """The JSON record whose key ends in this id (for assertions)."""
    for key, value in ledger.state.items():
        if key.endswith("\x00" + key_part + "\x00") and value != b"\x00":
            return json.loads(value)
    raise KeyError(key_part)
