"""The market's codes and its time: 15-minute steps, direction codes, series resolutions.

Times on the ledger are UTC text (``YYYY-MM-DDTHH:MM:SSZ``); here they become datetimes to be
compared and stepped. "Now" for a market rule is the market period's clock: the transaction's
own time for a ``ledger`` period, or the TSO-set time of a ``demo`` period (a sandbox day run in
minutes; see ``periods.py``). Nothing here reads a wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from .ledger import Tx

STEP = timedelta(minutes=15)  # the market time unit (ISP): offers, activations, aggregates
STEP_HOURS = 0.25
MAX_LEAD = timedelta(minutes=15)  # a tertiary-reserve-like service: set points at most 15' ahead
MAX_STEPS = 100  # a delivery period of at most 25 h (a day that gains an hour)
# ESMP resolutions a measurement series may have: the market's 4 s, the demo's relaxed 60 s
RESOLUTIONS: dict[str, int] = {"PT4S": 4, "PT1M": 60}
MAX_SERIES_BYTES = 8 * 1024 * 1024
MAX_PRICE = 15000.0  # EUR/MWh, the harmonised maximum of European balancing energy prices


class FlowDirection(StrEnum):
    """ENTSO-E flow direction codes, as Equigy's API codes an offer's direction."""

    UP = "A01"  # more generation or less consumption
    DOWN = "A02"  # less generation or more consumption


class ClockMode(StrEnum):
    LEDGER = "ledger"
    DEMO = "demo"


class MarketPeriodStatus(StrEnum):
    OPEN = "Open"


class OfferStatus(StrEnum):
    SUBMITTED = "Submitted"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    WITHDRAWN = "Withdrawn"


class ActivationStatus(StrEnum):
    SENT = "Sent"
    ACKNOWLEDGED = "Acknowledged"
    VERIFIED = "Verified"
    SETTLED = "Settled"


class SeriesScope(StrEnum):
    AGGREGATE = "aggregate"  # the UVAM's behind-the-meter aggregate (BSP)
    DEVICE = "device"  # one flex device of the UVAM (BSP)
    POD = "pod"  # a POD of the UVAM (its DSO)


class SeriesStatus(StrEnum):
    ANCHORED = "Anchored"


class StatementStatus(StrEnum):
    ISSUED = "Issued"


def parse(text: str) -> datetime:
    """A ledger time (``...Z``, with or without fractions) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def on_step(moment: datetime) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and moment.minute % 15 == 0


def step_floor(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def steps_between(start: datetime, end: datetime) -> int:
    return int((end - start) / STEP)


def step_label(start: datetime) -> str:
    return f"{start:%H:%M}-{start + STEP:%H:%M}"


def market_now(tx: Tx, period: dict[str, Any]) -> datetime:
    """The time market rules are judged at: the transaction's, or a demo period's clock."""
    if period.get("clock") == ClockMode.DEMO:
        return parse(str(period["demoTime"]))
    return tx.time.astimezone(UTC)


__all__ = [
    "MAX_LEAD",
    "MAX_PRICE",
    "MAX_SERIES_BYTES",
    "MAX_STEPS",
    "RESOLUTIONS",
    "STEP",
    "STEP_HOURS",
    "ActivationStatus",
    "ClockMode",
    "FlowDirection",
    "MarketPeriodStatus",
    "OfferStatus",
    "SeriesScope",
    "SeriesStatus",
    "StatementStatus",
    "market_now",
    "on_step",
    "parse",
    "step_floor",
    "step_label",
    "steps_between",
    "text",
]
