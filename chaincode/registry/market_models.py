"""Request models of the market phases: periods, offers, activations, series anchors, statements.

Each model checks its own fields and the rules between them (steps on the quarter hour, a
whole number of steps, unique positions); the rules that need the ledger (the UVAM is
Qualified, the gate is open, the offer has room left) live in the entity modules.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from .codes import check_sha256, enum_value
from .fields import Eic, Ident, Input, LongText, Time
from .markettime import (
    MAX_PRICE,
    MAX_SERIES_BYTES,
    MAX_STEPS,
    RESOLUTIONS,
    STEP,
    ClockMode,
    FlowDirection,
    SeriesScope,
    on_step,
    parse,
    steps_between,
)


def _direction(value: Any) -> Any:
    """``A01``/``A02`` as Equigy codes them; ``up``/``down`` accepted and stored as codes."""
    if isinstance(value, str):
        spelled = value.strip().lower()
        if spelled in ("up", "upward"):
            return FlowDirection.UP
        if spelled in ("down", "downward"):
            return FlowDirection.DOWN
        return enum_value(FlowDirection, value)
    return value


Direction = Annotated[FlowDirection, BeforeValidator(_direction)]
Kilowatts = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True), BeforeValidator(check_sha256)]


def _on_step(what: str, value: str) -> None:
    if not on_step(parse(value)):
        raise ValueError(f"{what} {value} must fall on a quarter hour (:00, :15, :30, :45)")


class MarketPeriodIn(Input):
    """Open Market Period (the TSO): a delivery period of 15-minute steps and its gate."""

    periodId: Ident | None = None
    deliveryStart: Time
    deliveryEnd: Time
    gateClosure: Time
    clock: ClockMode = ClockMode.LEDGER
    demoTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _on_step("deliveryStart", self.deliveryStart)
        _on_step("deliveryEnd", self.deliveryEnd)
        steps = steps_between(parse(self.deliveryStart), parse(self.deliveryEnd))
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(
                f"the delivery period must hold 1 to {MAX_STEPS} steps of 15 minutes, not {steps}"
            )
        if self.gateClosure > self.deliveryStart:
            raise ValueError(
                f"gateClosure {self.gateClosure} must not be after deliveryStart "
                f"{self.deliveryStart}"
            )
        if self.clock is ClockMode.DEMO:
            if self.demoTime is None:
                raise ValueError("a demo clock needs its starting time: demoTime")
        elif self.demoTime is not None:
            raise ValueError("demoTime is for a demo clock only; a ledger clock is the ledger's")
        return self


class GateIn(Input):
    gateClosure: Time


class ClockIn(Input):
    demoTime: Time


class StepQuantity(Input):
    """A quantity of one 15-minute step of the period (position 1 is the first step)."""

    position: int = Field(ge=1, le=MAX_STEPS)
    quantity: Kilowatts


class OfferIn(Input):
    """Submit Offer (the BSP): a UVAM's availability per step, in one direction.

    The price is not an argument (arguments are in the block for every channel member to read):
    it travels as the transient field ``price``, ``{"amount": EUR/MWh, "currency": "EUR"}``.
    """

    offerId: Ident | None = None
    periodId: Ident
    resourceGroupId: Ident
    flexibilityServiceProviderId: Eic | None = None
    direction: Direction
    quantities: list[StepQuantity] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        positions = [q.position for q in self.quantities]
        if len(set(positions)) != len(positions):
            twice = sorted({p for p in positions if positions.count(p) > 1})
            raise ValueError(f"positions {twice} appear more than once")
        return self


class PriceIn(Input):
    amount: float = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False, description="EUR/MWh")
    currency: Literal["EUR"] = "EUR"


class OfferStatusIn(Input):
    offerId: Ident
    status: str
    reason: LongText | None = None


class ActivationIn(Input):
    """Send Activation (the TSO): a set point against an accepted offer."""

    activationId: Ident | None = None
    offerId: Ident
    start: Time
    durationMinutes: int = Field(ge=15, le=MAX_STEPS * 15)
    power: Kilowatts = Field(gt=0)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _on_step("start", self.start)
        if self.durationMinutes % 15:
            raise ValueError(
                f"durationMinutes {self.durationMinutes} must be a whole number of 15-minute steps"
            )
        return self


class ActivationStatusIn(Input):
    activationId: Ident
    status: str


class SeriesIn(Input):
    """Anchor Series: a measurement series' fingerprint and its energy per 15-minute step.

    The series itself (ESMP-shaped, points of average kW per resolution interval, positive
    drawn from the grid) stays in the uploader's connector; the ledger keeps what lets anyone
    holding it check it and redo the verification.
    """

    periodId: Ident
    resourceGroupId: Ident
    activationId: Ident | None = None
    scope: SeriesScope
    resource: Ident
    sha256: Sha256
    size: int = Field(ge=1, le=MAX_SERIES_BYTES)
    resolution: str
    start: Time
    end: Time
    points: int = Field(ge=1)
    measurementUnit: Literal["KWT"] = "KWT"
    stepEnergies: list[Annotated[float, Field(ge=-1e7, le=1e7, allow_inf_nan=False)]] = Field(
        min_length=1, max_length=MAX_STEPS
    )

    @model_validator(mode="after")
    def _rules(self) -> Self:
        seconds = RESOLUTIONS.get(self.resolution)
        if seconds is None:
            raise ValueError(
                f"resolution {self.resolution!r} is not one the market knows: "
                f"{', '.join(RESOLUTIONS)}"
            )
        _on_step("start", self.start)
        _on_step("end", self.end)
        start, end = parse(self.start), parse(self.end)
        if not start < end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        expected = int((end - start).total_seconds()) // seconds
        if self.points != expected:
            raise ValueError(
                f"{self.points} points at {self.resolution} from {self.start} to {self.end}: "
                f"the interval needs {expected} (a series has no gaps)"
            )
        steps = int((end - start) / STEP)
        if len(self.stepEnergies) != steps:
            raise ValueError(
                f"{len(self.stepEnergies)} step energies for {steps} steps of 15 minutes"
            )
        return self


class StatementIn(Input):
    periodId: Ident
    flexibilityServiceProviderId: Eic


__all__ = [
    "ActivationIn",
    "ActivationStatusIn",
    "ClockIn",
    "GateIn",
    "MarketPeriodIn",
    "OfferIn",
    "OfferStatusIn",
    "PriceIn",
    "SeriesIn",
    "StatementIn",
    "StepQuantity",
]
