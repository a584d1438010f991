"""What the bench tells a load driver, and what the driver tells the bench back.

A load driver (the Python one, `python -m cbp.bench.driver`, or the Node one,
`node cbp/bench/node/driver.js`) reads one `DriverConfig` as JSON on stdin and writes one JSON
object per line on stdout:

    {"event": "ready"}                                         connected, one tx committed
    {"event": "window_start", "level": 10}                     warm-up over, counting begins
    {"event": "progress", "level": 10, "elapsed": 4.0, "committed": 812, "failed": 0}
    {"event": "window_end", "level": 10, "elapsed": 10.0, "committed": 2031, "failed": 0,
     "errors": {"<message>": 1}, "latencies_ms": [...], "cpu_seconds": 3.1}
    {"event": "done"}
    {"event": "error", "message": "..."}                       fatal; the driver exits non-zero

Both drivers run the same loop: `concurrency` workers each submit one transaction after
another on ONE gateway connection; the window opens `warmup` seconds after the workers start and
closes `duration` seconds later; a transaction counts in the window when it completes there.
`cpu_seconds` is the driver process's own CPU time over the window (all threads).
Arguments are strings in which `$ID` becomes a unique 8-digit number (`id_base` + a counter).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ID_TOKEN = "$ID"


class LoadConfig(BaseModel):
    """What every driver is told: the levels and the windows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_base: int = Field(default=0, ge=0)
    levels: list[int] = Field(min_length=1)
    duration: float = Field(gt=0)
    warmup: float = Field(default=2.0, ge=0)
    progress_every: float = Field(default=2.0, gt=0)
    # a worker still waiting this long after the window closed is abandoned
    drain_timeout: float = Field(default=30.0, gt=0)


class DriverConfig(LoadConfig):
    """A gateway driver: transactions submitted straight to the ledger."""

    profile: str  # connection-profile.json
    org: str  # org key in the profile, e.g. "bsp1"
    user: str = "User1"
    channel: str
    chaincode: str
    function: str
    args: list[str] = Field(default_factory=list)


class HttpDriverConfig(LoadConfig):
    """An HTTP driver (`python -m cbp.bench.http_driver`) against a connector's REST API.

    `commit`: each worker registers a POD (`body`, `$ID` filled) and waits for its commit
    (`Prefer: wait`); a request counts when it answers 200. `mix`: each worker is a user who
    sends, at random by `shares`, an accepted write (POST without waiting, 202), a list page or
    a detail of one of `read_ids`, then thinks for `think` seconds on average (uniform between
    half and one and a half times it, as load-testing tools model users); the window's end event
    carries each kind's latencies in `kinds_ms`."""

    url: str
    username: str
    password: str
    mode: str = Field(pattern="^(commit|mix)$")
    body: str  # a POD registration, JSON, with $ID
    read_ids: list[str] = Field(default_factory=list)
    shares: dict[str, float] = Field(
        default_factory=lambda: {"write": 0.2, "list": 0.4, "detail": 0.4}
    )
    think: float = Field(default=0.0, ge=0)  # seconds between requests, on average (mix)


def render_args(args: list[str], n: int) -> list[str]:
    """The arguments of the n-th transaction: `$ID` replaced by n as 8 digits."""
    if n >= 10**8:
        raise ValueError(f"transaction id {n} does not fit the 8 digits that $ID stands for")
    ident = f"{n:08d}"
    return [a.replace(ID_TOKEN, ident) for a in args]


def encode_event(event: str, **fields: Any) -> str:
    return json.dumps({"event": event, **fields}, separators=(",", ":"))


def decode_event(line: str) -> dict[str, Any]:
    """One line of a driver's stdout; a line that is not a JSON event is a protocol error."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ValueError(f"load driver wrote a line that is not JSON: {line[:200]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise ValueError(f"load driver wrote JSON without an 'event' name: {line[:200]!r}")
    return data


__all__ = [
    "DriverConfig",
    "HttpDriverConfig",
    "ID_TOKEN",
    "LoadConfig",
    "decode_event",
    "encode_event",
    "render_args",
]
