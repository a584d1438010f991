"""Request models of the trading chaincode, and the one place JSON arguments are parsed.

Numbers may be JSON numbers or strings (``18.0`` or ``"18.0"``); they become exact decimals,
never floats, and carry at most the ledger's resolution (Wh for energy, 0.01 % for a state of
charge, 0.0001 EUR/kWh for a price). A refusal names the request, the field and the rule:
``InvalidArgument: EV EV-7: field 'socPct': input should be less than or equal to 100``.

Every JSON argument is decoded within the runtime's bounds (``chaincode.runtime.strict``: at
most 32 levels deep, integers of at most 18 digits, no key twice, no control or
direction-override character in a key or a string), as the registry's are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from chaincode.runtime.strict import quote, shorten

from .errors import InvalidArgument

M = TypeVar("M", bound=BaseModel)

# Up to this many trades confirmed in one transaction: ~1 KB of writes each, so a full batch
# stays well under the orderer's preferred block size (2 MB in the sandbox's topology).
MAX_BATCH = 500

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
EnrollmentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$")]
Kwh = Annotated[Decimal, Field(gt=0, le=100_000, decimal_places=3, allow_inf_nan=False)]
Capacity = Annotated[Decimal, Field(gt=0, le=1_000, decimal_places=3, allow_inf_nan=False)]
Pct = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(gt=0, le=10, decimal_places=4, allow_inf_nan=False)]
# free text: control and direction characters are refused when the argument is decoded
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class Input(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketParametersIn(Input):
    buyThresholdPct: Pct
    sellThresholdPct: Pct
    priceEurPerKwh: Price

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.buyThresholdPct > self.sellThresholdPct:
            raise ValueError(
                f"buyThresholdPct {self.buyThresholdPct} is above sellThresholdPct "
                f"{self.sellThresholdPct}: an EV could be both buyer and seller (eq. 1)"
            )
        return self


class EvIn(Input):
    evId: Ident
    batteryCapacityKwh: Capacity
    socPct: Pct
    # The EV user (enrollment id) who trades for it; an EV user declaring leaves it out.
    owner: EnrollmentId | None = None


class TradeIn(Input):
    tradeId: Ident | None = None
    buyerId: Ident
    sellerId: Ident
    amountKwh: Kwh


class ConfirmationIn(Input):
    tradeId: Ident
    deliveredKwh: Kwh | None = None  # default: the amount agreed


class ConfirmBatchIn(Input):
    batchId: Ident | None = None
    confirmations: list[ConfirmationIn] = Field(min_length=1, max_length=MAX_BATCH)


class RejectIn(Input):
    tradeId: Ident
    reason: Reason


def build(model: type[M], data: dict[str, Any], label: str) -> M:
    """Validate ``data`` as ``model``; refusals name ``label`` (e.g. ``EV EV-7``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgument(f"{label}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        message = str(err["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        if kind == "missing":
            parts.append(f"field '{where}' is mandatory and missing")
        elif kind == "extra_forbidden":
            parts.append(f"field '{where}' is not a known field")
        elif kind == "string_pattern_mismatch" and where == "owner":
            parts.append(
                f"field 'owner': {quote(err.get('input'))} is not an enrollment id "
                "(e.g. User1@evusers.cbp.local)"
            )
        elif kind == "string_pattern_mismatch":
            parts.append(
                f"field '{where}': {quote(err.get('input'))} is not an id "
                "(1-64 of A-Z a-z 0-9 . _ : -)"
            )
        else:
            parts.append(f"field '{where}': {message}" if where else message)
    more = len(exc.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def label_of(entity: str, data: dict[str, Any], id_field: str) -> str:
    """``EV EV-7`` when the request names its id, else just ``EV``."""
    value = data.get(id_field)
    if isinstance(value, str) and value.strip():
        return f"{entity} {shorten(value.strip())}"
    return entity
