"""The figures of one measured window: throughput, latency percentiles, CPU and memory per tx.

A window is the fixed span after warm-up during which transactions that *complete* are counted;
throughput is those commits over the window's length, and CPU per transaction is the CPU time
the measured processes spent in the same window over the same commits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; None if empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q}: must be between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return ordered[lo]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def per_tx(total: float | None, committed: int) -> float | None:
    """`total` shared over `committed` transactions; None when nothing committed."""
    if total is None or committed <= 0:
        return None
    return total / committed


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


@dataclass
class LevelResult:
    """One subject (engine, chaincode server or client) at one concurrency."""

    subject: str
    concurrency: int
    window_seconds: float
    committed: int
    failed: int
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds
    errors: dict[str, int] = field(default_factory=dict)
    # CPU seconds in the window of each measured group of processes ("engine", "chaincode",
    # "client"), and their memory at the window's end
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    rss_bytes: dict[str, int] = field(default_factory=dict)
    hwm_bytes: dict[str, int] = field(default_factory=dict)
    pss_bytes: dict[str, int] = field(default_factory=dict)  # 0: not readable here
    # latencies (seconds) by kind of request, for drivers that mix kinds (the connector's)
    kinds: dict[str, list[float]] = field(default_factory=dict, repr=False)

    @property
    def tps(self) -> float:
        return self.committed / self.window_seconds if self.window_seconds > 0 else 0.0

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float | None:
        return percentile(self.latencies, 99)

    def cpu_per_tx(self, group: str) -> float | None:
        """Seconds of CPU of `group` per committed transaction."""
        return per_tx(self.cpu_seconds.get(group), self.committed)

    def cores(self, group: str) -> float | None:
        """How many cores `group` kept busy on average over the window."""
        cpu = self.cpu_seconds.get(group)
        return None if cpu is None or self.window_seconds <= 0 else cpu / self.window_seconds

    def hwm_mib(self, group: str) -> float | None:
        b = self.hwm_bytes.get(group)
        return None if b is None else b / MIB

    def pss_mib(self, group: str) -> float | None:
        b = self.pss_bytes.get(group)
        return None if not b else b / MIB

    def summary(self) -> dict[str, Any]:
        """The figures as JSON-ready values (latencies summarised, not listed)."""
        d = asdict(self)
        del d["latencies"]
        d["kinds"] = {
            k: {"n": len(v), "p50_s": _round(percentile(v, 50)), "p99_s": _round(percentile(v, 99))}
            for k, v in self.kinds.items()
        }
        d.update(
            tps=round(self.tps, 2),
            p50_s=_round(self.p50),
            p99_s=_round(self.p99),
            cpu_ms_per_tx={
                g: _round(None if v is None else v * 1000)
                for g in self.cpu_seconds
                for v in [self.cpu_per_tx(g)]
            },
            cpu_cores={g: _round(self.cores(g), 3) for g in self.cpu_seconds},
            peak_rss_mib={g: round(b / MIB, 1) for g, b in self.hwm_bytes.items()},
            pss_mib={g: round(b / MIB, 1) for g, b in self.pss_bytes.items() if b},
        )
        return d


def merge(rounds: Sequence[LevelResult]) -> LevelResult:
    """Several windows of one subject at one concurrency pooled into one: commits, failures and
    CPU summed over the summed window time, latencies pooled, memory at its highest."""
    if not rounds:
        raise ValueError("merge needs at least one measured window")
    first = rounds[0]
    for r in rounds[1:]:
        if (r.subject, r.concurrency) != (first.subject, first.concurrency):
            raise ValueError(
                f"cannot pool {r.subject} c={r.concurrency} with {first.subject} "
                f"c={first.concurrency}: rounds must be of one subject and concurrency"
            )
    out = LevelResult(first.subject, first.concurrency, 0.0, 0, 0)
    for r in rounds:
        out.window_seconds += r.window_seconds
        out.committed += r.committed
        out.failed += r.failed
        out.latencies.extend(r.latencies)
        for kind, values in r.kinds.items():
            out.kinds.setdefault(kind, []).extend(values)
        for k, n in r.errors.items():
            out.errors[k] = out.errors.get(k, 0) + n
        for g, v in r.cpu_seconds.items():
            out.cpu_seconds[g] = out.cpu_seconds.get(g, 0.0) + v
        for g, b in r.rss_bytes.items():
            out.rss_bytes[g] = max(out.rss_bytes.get(g, 0), b)
        for g, b in r.hwm_bytes.items():
            out.hwm_bytes[g] = max(out.hwm_bytes.get(g, 0), b)
        for g, b in r.pss_bytes.items():
            out.pss_bytes[g] = max(out.pss_bytes.get(g, 0), b)
    return out


def _round(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(v, digits)


__all__ = ["LevelResult", "MIB", "merge", "percentile", "per_tx", "ratio"]
