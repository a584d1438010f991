"""Field types shared by the registry's models, and the one place JSON arguments are parsed.

A checker failure becomes an ``InvalidArgument`` naming the entity, the field and the rule:
``InvalidArgument: POD IT002E00112233: field 'receiverId': EIC code '10X1001A1001A346' has a
wrong check character``.
"""

from __future__ import annotations

import json
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


def _enum(kind: Any) -> BeforeValidator:
    return BeforeValidator(lambda v: enum_value(kind, v) if isinstance(v, str) else v)


def _time(value: Any) -> str:
    """Unix seconds or ISO 8601 (with an offset or Z), normalised to UTC ``...Z`` text.

    One fixed-width form, so that times compare as strings and every endorser writes the same.
    """
    if isinstance(value, bool):
        raise ValueError("a time must be unix seconds or ISO 8601 text, not a boolean")
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"time {value!r} is not ISO 8601 (2025-03-01T00:00:00Z)") from None
        if moment.tzinfo is None:
            raise ValueError(f"time {value!r} must carry a UTC offset or Z")
    else:
        raise ValueError("a time must be unix seconds or ISO 8601 text")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Eic = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_eic)]
PodCode = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_pod)]
Ident = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_id)]
Scheme = Annotated[CodingScheme, _enum(CodingScheme)]
DirectionField = Annotated[Direction, _enum(Direction)]
Voltage = Annotated[VoltageLevel, _enum(VoltageLevel)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Power = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]
Time = Annotated[str, BeforeValidator(_time)]
UnixTime = Annotated[int, Field(ge=0)]


class Input(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def require_eic_scheme(entity: str, field: str, scheme: CodingScheme | None) -> None:
    """Ids the CBP defines as EIC codes must say so in their coding scheme."""
    if scheme is not None and scheme is not CodingScheme.EIC:
        raise ValueError(
            f"{entity}: {field} is {scheme.value} but its id is an EIC code; use A01 (EIC)"
        )


def load_json(raw: str | bytes, function: str, argument: str) -> dict[str, Any]:
    """Decode a JSON object argument, refusing anything else with the argument's name."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(
                f"{function} argument '{argument}' is not UTF-8 (byte {exc.start})"
            ) from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{function} argument '{argument}' is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"{function} argument '{argument}' must be a JSON object, not {type(value).__name__}"
        )
    return value


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
            return f"{entity} {value.strip()[:64]}"
    return entity
