"""What a benchmark run is asked to do: load levels, window lengths, where the network is."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

Say = Callable[[str], None]

DEFAULT_PORT_OFFSET = 0


def parse_levels(text: str) -> list[int]:
    """`1,10,50` -> [1, 10, 50]; each a whole number from 1 to 1000."""
    levels: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            n = int(part)
        except ValueError:
            raise ValueError(f"--concurrency {text!r}: {part!r} is not a whole number") from None
        if not 1 <= n <= 1000:
            raise ValueError(f"--concurrency {text!r}: {n} must be between 1 and 1000")
        levels.append(n)
    if not levels:
        raise ValueError(f"--concurrency {text!r}: give at least one level, e.g. 1,10,50")
    return levels


def parse_cpus(text: str) -> list[int]:
    """`0` or `0,1` or `0-1` -> the CPUs the bench and everything it starts may run on; each
    one this process may use now."""
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"--cpus {text!r}: {part!r} is not a CPU number or range") from None
        if first > last:
            raise ValueError(f"--cpus {text!r}: the range {part!r} runs backwards")
        cpus.update(range(first, last + 1))
    available = os.sched_getaffinity(0)
    missing = sorted(cpus - available)
    if not cpus or missing:
        raise ValueError(
            f"--cpus {text!r}: give CPUs this machine lets the bench use "
            f"({', '.join(map(str, sorted(available)))})"
            + (f"; {', '.join(map(str, missing))} is not one" if missing else "")
        )
    return sorted(cpus)


def default_port_offset() -> int:
    raw = os.environ.get("CBP_PORT_OFFSET")
    if raw is None:
        return DEFAULT_PORT_OFFSET
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"CBP_PORT_OFFSET={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class BenchSettings:
    levels: list[int]
    duration: float  # seconds measured per level
    warmup: float  # seconds of load before each window opens
    port_offset: int
    home: str | None = None  # drive the sandbox running there instead of starting one
    profile: str | None = None
    topology: str | None = None
    keep: bool = False  # keep the bench's own sandbox folder (logs) afterwards
    rounds: int = 1  # windows per subject (or engine) and level, taken in ABBA order
    cpus: list[int] | None = None  # the CPUs the bench and everything it starts run on
    say: Say = lambda _msg: None

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ValueError(f"--duration {self.duration}: must be more than 0 seconds")
        if self.rounds < 1:
            raise ValueError(f"--rounds {self.rounds}: must be 1 or more")
        if self.warmup < 0:
            raise ValueError(f"--warmup {self.warmup}: must be 0 or more seconds")
        if self.cpus and self.attached:
            raise ValueError(
                "--cpus pins the sandboxes the bench starts, not one already running: drop "
                "--home/--profile, or pin the running sandbox yourself (taskset)"
            )

    @property
    def attached(self) -> bool:
        return self.home is not None or self.profile is not None


__all__ = ["BenchSettings", "default_port_offset", "parse_cpus", "parse_levels"]
