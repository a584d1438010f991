"""Request and response bodies of the P2P market's endpoints, with the trading chaincode's field
names and rules.

Energies, states of charge and prices are exact decimals, never floats: JSON numbers or strings
(`18.0` or `"18.0"`), at the ledger's resolution (energy to the Wh, a state of charge to
0.01 %, a price to 0.0001 EUR/kWh); finer is refused here, as the chaincode refuses it. Every
rule that needs no ledger is checked here; the chaincode checks them all again, and decides
the rules that need the ledger (eq. 4: a trade within the buyer's need and the seller's
remaining energy).
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from connector.schemas.fields import Body, _one_line

# as many trades as one confirmation may hold (the chaincode's cap: a full batch is about
# 570 KiB of transaction, under the orderer's preferred block size)
MAX_BATCH = 500

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ENROLLMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}")


def _trading_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an id: 1-64 letters, digits or . _ : - starting with a letter "
            "or digit"
        )
    return value


def _enrollment(value: str) -> str:
    if not _ENROLLMENT.fullmatch(value):
        raise ValueError(f"{value!r} is not an enrollment id (e.g. User1@evusers.cbp.local)")
    return value


TradingId = Annotated[
    str,
    AfterValidator(_trading_id),
    Field(max_length=64, examples=["EV-B1"], json_schema_extra={"pattern": _ID.pattern}),
]
EnrollmentId = Annotated[
    str,
    AfterValidator(_enrollment),
    Field(
        max_length=128,
        examples=["User1@evusers.cbp.local"],
        description="an EV user's enrollment id",
        json_schema_extra={"pattern": _ENROLLMENT.pattern},
    ),
]
Kwh = Annotated[
    Decimal,
    Field(gt=0, le=100_000, decimal_places=3, allow_inf_nan=False, description="kWh, to the Wh"),
]
Capacity = Annotated[
    Decimal, Field(gt=0, le=1_000, decimal_places=3, allow_inf_nan=False, description="kWh")
]
Pct = Annotated[
    Decimal, Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False, description="%, 0-100")
]
Price = Annotated[
    Decimal,
    Field(gt=0, le=10, decimal_places=4, allow_inf_nan=False, description="EUR per kWh"),
]


class TradeStatus(StrEnum):
    Pending = "Pending"
    Confirmed = "Confirmed"
    Rejected = "Rejected"


class EvRole(StrEnum):
    """Eq. 1: buyer below the buy threshold, seller above the sell threshold."""

    Buyer = "Buyer"
    Seller = "Seller"
    Neutral = "Neutral"


class MarketParameters(Body):
    """The thresholds of eq. 1 and the price of eq. 5: a new version, in force at once."""

    buyThresholdPct: Pct = Field(description="T_b: an EV below it buys (eq. 1)")
    sellThresholdPct: Pct = Field(description="T_s: an EV above it sells (eq. 1)")
    priceEurPerKwh: Price = Field(description="P, the P2P price (eq. 5)")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.buyThresholdPct > self.sellThresholdPct:
            raise ValueError(
                f"buyThresholdPct {self.buyThresholdPct} is above sellThresholdPct "
                f"{self.sellThresholdPct}: an EV could be both buyer and seller (eq. 1)"
            )
        return self


class EvDeclaration(Body):
    """An EV parked at a charger: its role and energy follow eqs. 1-3 on the ledger."""

    evId: TradingId
    batteryCapacityKwh: Capacity = Field(description="BC, kWh")
    socPct: Pct = Field(description="state of charge, %")
    owner: EnrollmentId | None = Field(
        default=None,
        description="the EV user who trades for it: named by the infrastructure operator; an "
        "EV user leaves it out (it is the user itself)",
    )


class TradeCreate(Body):
    """A buyer's trade with a seller (eq. 4 on the ledger), at the price in force (eq. 5)."""

    tradeId: TradingId | None = Field(
        default=None, description="optional; the ledger derives one from the transaction"
    )
    buyerId: TradingId = Field(description="the buying EV, one of the user's own")
    sellerId: TradingId = Field(description="the selling EV")
    amountKwh: Kwh = Field(description="at most the buyer's need and the seller's remaining")

    @model_validator(mode="after")
    def _two_evs(self) -> Self:
        if self.buyerId == self.sellerId:
            raise ValueError(
                f"buyerId and sellerId are both {self.buyerId}: an EV cannot trade with itself"
            )
        return self


class Confirmation(Body):
    tradeId: TradingId
    deliveredKwh: Kwh | None = Field(
        default=None, description="the energy delivered, at most the agreed (default: agreed)"
    )


class BatchCreate(Body):
    """Pending trades confirmed together, all or none, with the energy delivered."""

    batchId: TradingId | None = Field(
        default=None, description="optional; the ledger derives one from the transaction"
    )
    confirmations: list[Confirmation] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _once_each(self) -> Self:
        seen: set[str] = set()
        for c in self.confirmations:
            if c.tradeId in seen:
                raise ValueError(f"trade {c.tradeId} appears twice in the batch")
            seen.add(c.tradeId)
        return self


class Rejection(Body):
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=256), AfterValidator(_one_line)
    ] = Field(description="why, as both EV users will read it (one line, at most 256 characters)")


class EvBalance(BaseModel):
    """What an EV bought, sold, paid and earned over all its stays, read from the ledger."""

    evId: str
    role: str
    remainingKwh: str = Field(description="what it may still trade")
    boughtKwh: str
    soldKwh: str
    paidEur: str
    earnedEur: str
    pendingBoughtKwh: str
    pendingSoldKwh: str
    trades: dict[str, int] = Field(description="its trades by status")


class LedgerPage(BaseModel):
    """A page of records read from the ledger itself, in key order."""

    records: list[dict[str, Any]]
    bookmark: str | None = Field(
        default=None, description="pass as ?bookmark= for the next page; null on the last"
    )
