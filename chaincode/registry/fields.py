"""Field types shared by the registry's models, and the one place JSON arguments are parsed.

A checker failure becomes an ``InvalidArgument`` naming the entity, the field and the rule:
``InvalidArgument: POD IT002E00112233: field 'receiverId': EIC code '10X1001A1001A346' has a
wrong check character``.

Every JSON argument is decoded within the runtime's bounds (``chaincode.runtime.strict``: at
most 32 levels deep, integers of at most 18 digits, no key twice, no control or
direction-override character), so every transaction refuses hostile JSON the same way. Times
are accepted from ``EARLIEST_TIME`` (2000-01-01) up to ``LATEST_TIME`` (2100-01-01), as the
connector accepts them; names (``Text``) are one line of text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from chaincode.runtime.strict import StrictInputError, check_text, quote, shorten

from .codes import (
    CodingScheme,
    Direction,
    VoltageLevel,
    check_eic,
    check_id,
    check_pod,
    enum_value,
)
from .errors import InvalidArgument

M = TypeVar("M", bound=BaseModel)

EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
_RANGE = "2000-01-01T00:00:00Z to 2099-12-31T23:59:59Z"


def _enum(kind: Any) -> BeforeValidator:
    return BeforeValidator(lambda v: enum_value(kind, v) if isinstance(v, str) else v)


def _time(value: Any) -> str:
    """Unix seconds or ISO 8601 (with an offset or Z), normalised to UTC ``...Z`` text.

    One fixed-width form, so that times compare as strings and every endorser writes the same.
    """
    if isinstance(value, bool):
        raise ValueError("a time must be unix seconds or ISO 8601 text, not a boolean")
    if isinstance(value, int | float):
        _check_unix(value)
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"time {quote(value)} is not ISO 8601 (2025-03-01T00:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            raise ValueError(f"time {quote(value)} must carry a UTC offset or Z")
        if not EARLIEST_TIME <= moment < LATEST_TIME:
            raise ValueError(f"time {quote(value)} is outside {_RANGE}")
    else:
        raise ValueError("a time must be unix seconds or ISO 8601 text")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_unix(value: float) -> float:
    """Unix seconds within the accepted range (a typo must not become the year 33658)."""
    if not EARLIEST_TIME.timestamp() <= value < LATEST_TIME.timestamp():
        raise ValueError(f"unix time {quote(value)} is outside {_RANGE}")
    return value


def _one_line(value: str) -> str:
    try:
        return check_text(value, "the text")
    except StrictInputError as exc:
        raise ValueError(str(exc)) from None


Eic = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_eic)]
PodCode = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_pod)]
Ident = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_id)]
Scheme = Annotated[CodingScheme, _enum(CodingScheme)]
DirectionField = Annotated[Direction, _enum(Direction)]
Voltage = Annotated[VoltageLevel, _enum(VoltageLevel)]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=256),
    AfterValidator(_one_line),
]
# several lines allowed (a reason, a note); control and direction characters are refused for
# every JSON string when the argument is decoded
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Power = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]
Time = Annotated[str, BeforeValidator(_time)]
UnixTime = Annotated[int, AfterValidator(_check_unix)]


class Input(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def require_eic_scheme(entity: str, field: str, scheme: CodingScheme | None) -> None:
    """Ids the CBP defines as EIC codes must say so in their coding scheme."""
    if scheme is not None and scheme is not CodingScheme.EIC:
        raise ValueError(
            f"{entity}: {field} is {scheme.value} but its id is an EIC code; use A01 (EIC)"
        )


def build(model: type[M], data: dict[str, Any], label: str) -> M:
    """Validate ``data`` as ``model``; refusals name ``label`` (e.g. ``POD IT002E00112233``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgument(f"{label}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "missing":
            parts.append(f"field '{where}' is mandatory and missing")
        elif kind == "extra_forbidden":
            parts.append(f"field '{where}' is not a known field")
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            parts.append(f"field '{where}': {message}" if where else message)
    more = len(exc.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def label_of(entity: str, data: dict[str, Any], *id_fields: str) -> str:
    """``POD IT002E00112233`` when the request names its id, else just ``POD``."""
    for name in id_fields:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return f"{entity} {shorten(value.strip())}"
    return entity
