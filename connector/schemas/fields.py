"""Field types of the API, checked at the edge with the rule in the message.

The registry chaincode checks the same rules again (the ledger never trusts a client); here they
give the user a 422 that names the field before anything is queued.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from stdnum.eu import eic as _eic
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

_POD = re.compile(r"IT\d{3}E\d{8}")
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}")
# Times the registry accepts: from 2000 to 2100, so that a typo does not become year 33658.
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)  # stdnum's check is slow, and a connector sees the same few codes
def _eic_code(value: str) -> str:
    code = value.strip().upper()
    try:
        return str(_eic.validate(code))
    except InvalidLength:
        raise ValueError(f"EIC code {value!r} must have 16 characters") from None
    except InvalidChecksum:
        raise ValueError(f"EIC code {value!r} has a wrong check character") from None
    except ValidationError:
        raise ValueError(f"EIC code {value!r} may hold only A-Z, 0-9 and '-'") from None


def _pod_code(value: str) -> str:
    code = value.strip().upper()
    if not _POD.fullmatch(code):
        raise ValueError(
            f"POD code {value!r} must be IT + 3-digit distributor + E + 8 digits "
            "(e.g. IT002E00112233)"
        )
    return code


def _ident(value: str) -> str:
    if not _IDENT.fullmatch(value):
        raise ValueError(
            f"identifier {value!r} must be 1-128 letters, digits or _.:/@+- starting with a "
            "letter or digit"
        )
    return value


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _time(value: Any) -> str:
    """Unix seconds, ISO 8601 with an offset, or a date alone (midnight UTC), as UTC
    `YYYY-MM-DDTHH:MM:SSZ`."""
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        value = value.strip() + "T00:00:00Z"
    if isinstance(value, bool):
        raise ValueError("a time is unix seconds or ISO 8601 text, not a boolean")
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"time {value!r} is out of range (2000-2100)") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"time {value!r} is not ISO 8601 (e.g. 2026-03-01T00:00:00Z)"
            ) from None
    else:
        raise ValueError("a time is unix seconds or ISO 8601 text")
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} must carry a UTC offset or Z")
    if not _EARLIEST <= moment < _LATEST:
        raise ValueError(f"time {value!r} is out of range (2000-2100)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if not _EARLIEST.timestamp() <= value < _LATEST.timestamp():
            raise ValueError(f"unix time {value} is out of range (2000-2100)")
    return value


class CodingScheme(StrEnum):
    """ENTSO-E coding scheme of an id: A01 for EIC codes."""

    EIC = "A01"
    CGM = "A02"
    GS1 = "A10"
    ITALY = "NIT"


class Direction(StrEnum):
    consumption = "consumption"
    generation = "generation"
    mixed = "mixed"


class VoltageLevel(StrEnum):
    LV = "LV"
    MV = "MV"
    HV = "HV"
    EHV = "EHV"


# The patterns are documentation for clients and generators; the validators enforce the rules
# (and word their refusal better than a regular expression would).
Eic = Annotated[
    str,
    AfterValidator(_eic_code),
    Field(
        examples=["10XIT-BSP-ALFA-U"],
        description="16-character ENTSO-E EIC code, the last one its check character",
        json_schema_extra={"pattern": "^[0-9A-Z-]{16}$"},
    ),
]
PodCode = Annotated[
    str,
    AfterValidator(_pod_code),
    Field(
        examples=["IT002E00112233"],
        description="POD code: IT + distributor + E + 8 digits",
        json_schema_extra={"pattern": r"^IT\d{3}E\d{8}$"},
    ),
]
Ident = Annotated[
    str,
    AfterValidator(_ident),
    Field(max_length=128, json_schema_extra={"pattern": "^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$"}),
]
# Control characters break logs and displays; bidirectional overrides disguise what a name says.
_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _visible(value: str) -> str:
    found = _HIDDEN.search(value)
    if found:
        raise ValueError(
            f"must not contain control or direction-override characters "
            f"(found U+{ord(found.group()):04X} at position {found.start()})"
        )
    return value


def _one_line(value: str) -> str:
    _visible(value)
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be one line")
    return value


Text = Annotated[str, AfterValidator(_one_line), Field(min_length=1, max_length=256)]
LongText = Annotated[str, AfterValidator(_visible), Field(min_length=1, max_length=2000)]
Power = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False, description="kW")]
Number = Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)]
Time = Annotated[
    str,
    BeforeValidator(_time),
    Field(examples=["2026-03-01T00:00:00Z"], description="ISO 8601 with offset, or unix seconds"),
]
UnixTime = Annotated[int, BeforeValidator(_unix), Field(description="unix seconds")]


class Body(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is never ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def ledger_json(self) -> dict[str, Any]:
        """The fields as the registry names them, enums as text, unset fields left out."""
        return self.model_dump(mode="json", exclude_none=True)
