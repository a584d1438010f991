"""Measurement series in ESMP shape: checked, written in one canonical form, hashed, summed.

A series is one resource's power over an interval at a fixed resolution, shaped as an ENTSO-E
ESMP TimeSeries (IEC 62325-351)::

    {"mRID": "...", "businessType": "A16", "product": "8716867000016",
     "measurement_Unit.name": "KWT", "registeredResource.mRID": "EVSE-1",
     "Period": {"timeInterval": {"start": "2026-03-02T00:00Z", "end": "2026-03-03T00:00Z"},
                "resolution": "PT1M",
                "Point": [{"position": 1, "quantity": 7.4}, ...]}}

Each point is the average power (kW, positive drawn from the grid) over its resolution
interval; positions run from 1 without gaps. The **canonical form** is the JSON with sorted
keys, no spaces, UTF-8, times as ``YYYY-MM-DDTHH:MMZ`` and quantities to the watt (3
decimals). Its SHA-256 is the series' hash on the ledger; exporting gives these very bytes, so
a series exported and imported again is equal and keeps its hash. The ledger also keeps the
energy per 15-minute step (kWh), which anyone holding the series recomputes with
``step_energies``.

Pure functions: the connector, ``cbp audit series`` and the simulations share them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

RESOLUTIONS: dict[str, int] = {"PT4S": 4, "PT1M": 60}  # the market's 4 s, the demo's 60 s
STEP_SECONDS = 900
BUSINESS_TYPE = "A16"  # ESMP: realised
PRODUCT = "8716867000016"  # ESMP: active power
UNIT = "KWT"
MAX_POINTS = 25 * 3600 // 4  # a day that gains an hour, at 4 s


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a time is ISO 8601 text, e.g. 2026-03-02T00:00Z")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {value!r} is not ISO 8601 (e.g. 2026-03-02T00:00Z)") from None
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} must carry Z or a UTC offset")
    return moment.astimezone(UTC)


def esmp_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Point(_Shape):
    position: int = Field(ge=1)
    quantity: Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class TimeInterval(_Shape):
    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _esmp(cls, value: Any) -> str:
        moment = _moment(value)
        if moment.second or moment.microsecond:
            raise ValueError(f"time {value!r} must be on a whole minute")
        return esmp_time(moment)


class SeriesPeriod(_Shape):
    timeInterval: TimeInterval
    resolution: str
    points: list[Point] = Field(alias="Point", min_length=1, max_length=MAX_POINTS)

    @field_validator("resolution")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in RESOLUTIONS:
            raise ValueError(
                f"resolution {value!r} is not one the market knows: {', '.join(RESOLUTIONS)}"
            )
        return value

    @model_validator(mode="after")
    def _no_gaps(self) -> Self:
        start, end = _moment(self.timeInterval.start), _moment(self.timeInterval.end)
        if not start < end:
            raise ValueError(f"timeInterval start {self.timeInterval.start} must be before its end")
        seconds = RESOLUTIONS[self.resolution]
        span = int((end - start).total_seconds())
        if span % seconds:
            raise ValueError(
                f"the interval of {span} s is not a whole number of {self.resolution} points"
            )
        expected = span // seconds
        positions = sorted(p.position for p in self.points)
        for n, position in enumerate(positions, start=1):
            if position != n:
                at = esmp_time(start + timedelta(seconds=(n - 1) * seconds))
                what = "appears twice" if position < n else "is missing"
                raise ValueError(
                    f"Point: position {n} ({at}) {what}; positions run from 1 to {expected} "
                    "without gaps"
                )
        if len(positions) != expected:
            raise ValueError(
                f"Point: {len(positions)} points at {self.resolution} from "
                f"{self.timeInterval.start} to {self.timeInterval.end}; the interval needs "
                f"{expected}"
            )
        return self


class MeasurementSeries(_Shape):
    """One ESMP TimeSeries of measured power."""

    mRID: Annotated[str, Field(min_length=1, max_length=128)]
    businessType: Literal["A16"] = "A16"
    product: Literal["8716867000016"] = "8716867000016"
    unit: Literal["KWT"] = Field(default="KWT", alias="measurement_Unit.name")
    resource: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        alias="registeredResource.mRID"
    )
    period: SeriesPeriod = Field(alias="Period")

    @property
    def start(self) -> datetime:
        return _moment(self.period.timeInterval.start)

    @property
    def end(self) -> datetime:
        return _moment(self.period.timeInterval.end)

    @property
    def seconds(self) -> int:
        return RESOLUTIONS[self.period.resolution]


class SeriesError(ValueError):
    """A series that breaks a rule; ``fields`` pairs where with the rule."""

    def __init__(self, message: str, fields: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields


def load(data: Any) -> MeasurementSeries:
    """A series from decoded JSON, every rule checked (SeriesError names what is wrong)."""
    try:
        return MeasurementSeries.model_validate(data)
    except ValidationError as exc:
        fields = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "series"
            if err["type"] == "missing":
                rule = "is mandatory and missing"
            elif err["type"] == "extra_forbidden":
                rule = "is not a field of an ESMP series"
            else:
                rule = str(err["msg"]).removeprefix("Value error, ")
            fields.append((where, rule))
        summary = "; ".join(f"{w}: {r}" for w, r in fields[:3])
        raise SeriesError(f"the series is not valid: {summary}", fields) from None


def parse(raw: bytes) -> MeasurementSeries:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SeriesError(f"the series is not JSON: {exc}", [("series", str(exc))]) from None
    return load(data)


def canonical(series: MeasurementSeries) -> bytes:
    """The one byte form of a series: what is hashed, stored and exported."""
    points = sorted(series.period.points, key=lambda p: p.position)
    document = {
        "Period": {
            "Point": [{"position": p.position, "quantity": _watts(p.quantity)} for p in points],
            "resolution": series.period.resolution,
            "timeInterval": {
                "end": series.period.timeInterval.end,
                "start": series.period.timeInterval.start,
            },
        },
        "businessType": series.businessType,
        "mRID": series.mRID,
        "measurement_Unit.name": series.unit,
        "product": series.product,
        "registeredResource.mRID": series.resource,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _watts(kw: float) -> float:
    value = round(kw, 3)
    return 0.0 if value == 0 else value  # no "-0.0": one form per value


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def step_energies(series: MeasurementSeries) -> list[float]:
    """Energy (kWh) in each 15-minute step of the interval, from the canonical quantities."""
    if STEP_SECONDS % series.seconds:
        raise ValueError(f"{series.period.resolution} does not divide 15 minutes")
    per_step = STEP_SECONDS // series.seconds
    hours = series.seconds / 3600
    points = sorted(series.period.points, key=lambda p: p.position)
    if len(points) % per_step:
        raise ValueError("the interval is not a whole number of 15-minute steps")
    out = []
    for first in range(0, len(points), per_step):
        energy = math.fsum(_watts(p.quantity) * hours for p in points[first : first + per_step])
        out.append(round(energy, 3))
    return out


@dataclass(frozen=True)
class Fingerprint:
    """What the ledger keeps of a series."""

    sha256: str
    size: int
    resource: str
    resolution: str
    start: str
    end: str
    points: int
    step_energies: list[float]

    def anchor(self) -> dict[str, Any]:
        """The AnchorSeries fields (the registry's names), times as the ledger writes them."""
        return {
            "end": self.end,
            "measurementUnit": UNIT,
            "points": self.points,
            "resolution": self.resolution,
            "sha256": self.sha256,
            "size": self.size,
            "start": self.start,
            "stepEnergies": self.step_energies,
        }


def fingerprint(series: MeasurementSeries) -> tuple[bytes, Fingerprint]:
    content = canonical(series)
    return content, Fingerprint(
        sha256=sha256(content),
        size=len(content),
        resource=series.resource,
        resolution=series.period.resolution,
        start=series.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=series.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        points=len(series.period.points),
        step_energies=step_energies(series),
    )


def build(
    mrid: str, resource: str, start: datetime, resolution: str, quantities: list[float]
) -> MeasurementSeries:
    """A series from consecutive quantities (kW) starting at ``start``."""
    seconds = RESOLUTIONS[resolution]
    end = start + timedelta(seconds=seconds * len(quantities))
    return load(
        {
            "mRID": mrid,
            "registeredResource.mRID": resource,
            "Period": {
                "timeInterval": {"start": esmp_time(start), "end": esmp_time(end)},
                "resolution": resolution,
                "Point": [
                    {"position": n, "quantity": q} for n, q in enumerate(quantities, start=1)
                ],
            },
        }
    )


__all__ = [
    "RESOLUTIONS",
    "Fingerprint",
    "MeasurementSeries",
    "SeriesError",
    "build",
    "canonical",
    "fingerprint",
    "load",
    "parse",
    "sha256",
    "step_energies",
]
