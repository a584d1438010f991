"""The market's forms: which fields each shows. Each is parsed by the API's own model
(`connector.schemas.market`) through `forms.parse`, so a form breaks the rules a 422 names."""

from __future__ import annotations

import math
import re

from connector.schemas.market import MAX_STEPS
from connector.web.forms import Field, Section

TIME = "UTC, e.g. 2026-04-15T09:50:00Z"
QUARTER = "UTC, on a quarter hour"
PLACE_TIME = "2026-04-15T00:00:00Z"

PERIOD = (
    Section(
        "Delivery and gate",
        (
            Field("periodId", "Period id", hint="optional; default MP-<delivery start>"),
            Field("deliveryStart", "Delivery start", required=True, hint=QUARTER),
            Field("deliveryEnd", "Delivery end", required=True, hint=QUARTER),
            Field(
                "gateClosure",
                "Gate closure",
                required=True,
                hint="offers close here; at or before the delivery start",
            ),
        ),
    ),
    Section(
        "Clock",
        (
            Field(
                "clock",
                "Clock",
                kind="select",
                required=True,
                options=(
                    ("demo", "demo: a time the TSO moves forward"),
                    ("ledger", "ledger: each transaction's own time"),
                ),
                default="demo",
            ),
            Field("demoTime", "Demo clock starts at", hint="a demo clock only; " + TIME),
        ),
    ),
)

CLOCK = Field("demoTime", "New market time", required=True, hint="later than now; " + TIME)
GATE = Field("gateClosure", "New gate closure", required=True, hint="while the gate is open")
DIRECTIONS = (("A01", "A01 up: the EVs draw less"), ("A02", "A02 down: the EVs draw more"))


def offer_fields(uvams: list[tuple[str, str]]) -> tuple[Field, ...]:
    """Submit Offer: one of the BSP's qualified UVAMs, the same quantity at every step or a
    profile step by step."""
    return (
        Field(
            "resourceGroupId",
            "UVAM",
            kind="select",
            required=True,
            options=tuple(uvams),
            hint="a qualified UVAM of yours on this period's channel",
        ),
        Field("direction", "Direction", kind="select", required=True, options=DIRECTIONS),
        Field(
            "quantity",
            "Quantity at every step",
            kind="number",
            hint="kW, at most the UVAM's qualified power that way; or a profile below",
        ),
        Field(
            "quantities",
            "Or a profile, step by step",
            kind="textarea",
            hint="kW for each 15-minute step from the first, in order, separated by spaces, "
            "commas or new lines (a dot for decimals); 0 offers nothing at that step",
            placeholder="40 40 35 30",
        ),
        Field(
            "price.amount",
            "Price",
            kind="number",
            required=True,
            hint="EUR/MWh, private to you and the TSO",
        ),
    )


_SEPARATORS = re.compile(r"[\s,;]+")


def profile(text: str) -> list[dict[str, float | int]]:
    """A profile typed or pasted as kW per step, in order, as the API's quantities (position
    1 for the first step). ValueError names the step at fault."""
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if len(tokens) > MAX_STEPS:
        raise ValueError(f"{len(tokens)} values, but a period has at most {MAX_STEPS} steps")
    steps: list[dict[str, float | int]] = []
    for position, token in enumerate(tokens, start=1):
        try:
            kw = float(token)
        except ValueError:
            shown = token if len(token) <= 16 else token[:16] + "..."
            raise ValueError(f"step {position}: '{shown}' is not a number of kW") from None
        if not math.isfinite(kw) or kw < 0:
            raise ValueError(f"step {position}: {token} kW; a quantity is 0 or more")
        steps.append({"position": position, "quantity": kw})
    return steps


ACTIVATION = (
    Field("start", "Start", required=True, hint="on a quarter hour, at most 15 minutes ahead"),
    Field(
        "durationMinutes",
        "Duration",
        kind="number",
        required=True,
        hint="minutes, whole 15-minute steps",
        default="15",
    ),
    Field("power", "Power", kind="number", required=True, hint="kW, within the accepted offer"),
)


def names(fields: tuple[Field, ...]) -> set[str]:
    return {f.name for f in fields}
