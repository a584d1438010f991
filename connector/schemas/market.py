"""Request and response bodies of the market: periods, offers, activations, measurements,
statements. Field names are the registry's; every rule that needs no ledger is checked here,
and the registry checks them all again."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, model_validator

from connector.schemas.common import ResourceOut
from connector.schemas.fields import Body, Eic, Ident, LongText, Time

STEP = timedelta(minutes=15)  # a market period's step
MAX_STEPS = 100  # a period's steps at most: 96, or 100 on the day clocks go back

Kilowatts = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False, description="kW")]


def _direction(value: Any) -> Any:
    if isinstance(value, str):
        spelled = value.strip().lower()
        return {"up": "A01", "upward": "A01", "down": "A02", "downward": "A02"}.get(
            spelled, value.strip().upper()
        )
    return value


class FlowDirection(StrEnum):
    """ENTSO-E flow direction, as Equigy's API codes an offer: A01 up, A02 down."""

    A01 = "A01"
    A02 = "A02"


Direction = Annotated[
    FlowDirection,
    BeforeValidator(_direction),
    Field(description="A01 (up: the EVs draw less) or A02 (down: they draw more); up/down too"),
]


def _quarter(what: str, value: str) -> None:
    minute = value[14:16]
    if value[17:19] != "00" or minute not in ("00", "15", "30", "45"):
        raise ValueError(f"{what} {value} must fall on a quarter hour (:00, :15, :30, :45)")


class MarketPeriodCreate(Body):
    """Open Market Period (the TSO): a delivery period of 15-minute steps and its gate."""

    periodId: Ident | None = Field(default=None, description="default: MP-<deliveryStart>")
    deliveryStart: Time
    deliveryEnd: Time
    gateClosure: Time = Field(description="offers close here; the TSO decides on them after")
    clock: Literal["ledger", "demo"] = Field(
        default="ledger",
        description="ledger: rules judged at the transaction's time; demo: at a time the TSO "
        "sets and moves forward (a sandbox day in minutes)",
    )
    demoTime: Time | None = Field(default=None, description="a demo clock's starting time")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _quarter("deliveryStart", self.deliveryStart)
        _quarter("deliveryEnd", self.deliveryEnd)
        if not self.deliveryStart < self.deliveryEnd:
            raise ValueError("deliveryStart must be before deliveryEnd")
        if self.gateClosure > self.deliveryStart:
            raise ValueError("gateClosure must not be after deliveryStart")
        if (self.clock == "demo") != (self.demoTime is not None):
            raise ValueError("a demo clock needs demoTime; a ledger clock takes none")
        return self


class GateChange(Body):
    gateClosure: Time


class ClockChange(Body):
    demoTime: Time = Field(description="the demo clock's new time, later than its current one")


class Price(Body):
    amount: float = Field(ge=0, le=15000, allow_inf_nan=False, description="EUR/MWh")
    currency: Literal["EUR"] = "EUR"


class StepQuantity(Body):
    position: int = Field(ge=1, le=MAX_STEPS, description="the step of the period, 1 for the first")
    quantity: Kilowatts


class OfferCreate(Body):
    """Submit Offer (the BSP): a Qualified UVAM's availability per step, at a price.

    The price is sent to the ledger as private (transient) data: it never appears in a block,
    and only this BSP and the TSO can read it.
    """

    offerId: Ident | None = None
    periodId: Ident
    resourceGroupId: Ident
    direction: Direction
    quantities: list[StepQuantity] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)
    quantity: Kilowatts | None = Field(
        default=None, description="the same quantity at every step, instead of quantities"
    )
    price: Price

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.quantities is None) == (self.quantity is None):
            raise ValueError("give quantities per step, or one quantity for every step")
        if self.quantities is not None:
            positions = [q.position for q in self.quantities]
            if len(set(positions)) != len(positions):
                raise ValueError("a position appears more than once in quantities")
        return self


class OfferStatus(StrEnum):
    Accepted = "Accepted"
    Rejected = "Rejected"
    Withdrawn = "Withdrawn"


class OfferStatusChange(Body):
    status: OfferStatus
    reason: LongText | None = None


class ActivationCreate(Body):
    """Send Activation (the TSO): a set point against an accepted offer."""

    activationId: Ident | None = None
    offerId: Ident
    start: Time = Field(description="on a quarter hour, at most 15 minutes ahead")
    durationMinutes: int = Field(ge=15, le=1500, description="whole 15-minute steps")
    power: Kilowatts = Field(gt=0)

    @model_validator(mode="after")
    def _steps(self) -> Self:
        _quarter("start", self.start)
        if self.durationMinutes % 15:
            raise ValueError("durationMinutes must be a whole number of 15-minute steps")
        return self


class ActivationStatusChange(Body):
    status: Literal["Acknowledged"]


class SeriesScope(StrEnum):
    aggregate = "aggregate"
    device = "device"
    pod = "pod"


class MeasurementUpload(Body):
    """Upload Measurements: an ESMP series of a UVAM's aggregate or device (the BSP) or of one
    of its PODs (the DSO). The connector keeps the series; the ledger anchors its hash."""

    periodId: Ident
    resourceGroupId: Ident
    scope: SeriesScope
    resource: Ident | None = Field(
        default=None, description="the device or POD; the aggregate's is the UVAM (default)"
    )
    activationId: Ident | None = Field(default=None, description="when uploaded for one")
    sha256: str | None = Field(
        default=None,
        description="the SHA-256 of the series' canonical form, if the sender computed it",
        pattern=r"^[0-9a-fA-F]{64}$",
    )
    series: dict[str, Any] = Field(description="the ESMP TimeSeries (see GET .../series)")


class StatementCreate(Body):
    periodId: Ident
    flexibilityServiceProviderId: Eic = Field(description="the BSP the statement is for")


class OfferOut(ResourceOut):
    price: dict[str, Any] | None = Field(
        default=None, description="EUR/MWh, read from the ledger's private collection"
    )


class StatementOut(ResourceOut):
    statement: dict[str, Any] = Field(
        description="lines and totals, read from the ledger's private collection"
    )


class MarketPeriodOut(ResourceOut):
    marketTime: str | None = Field(
        default=None, description="what 'now' is for the period's rules (its demo clock)"
    )


__all__ = [
    "ActivationCreate",
    "ActivationStatusChange",
    "ClockChange",
    "GateChange",
    "MarketPeriodCreate",
    "MarketPeriodOut",
    "MeasurementUpload",
    "OfferCreate",
    "OfferOut",
    "OfferStatusChange",
    "StatementCreate",
    "StatementOut",
]
