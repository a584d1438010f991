"""A benchmark's outcome as a table for people and as JSON for machines.

Every bench fills one `BenchReport`: the measured levels, any reference rows (labelled with
where they come from), the checks against the targets, and notes (e.g. why a column
was skipped). The machine and the date are recorded so figures can be compared later.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cbp.bench.reference import ReferenceLevel
from cbp.bench.stats import LevelResult


@dataclass(frozen=True)
class Check:
    """One target: ours against theirs (or against a fixed bound)."""

    label: str
    ours: float | None
    theirs: float | None
    target: str  # e.g. ">= 1.0x", "<= 0.5x", ">= 250"
    met: bool | None  # None: not measurable in this run

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.theirs is None or self.theirs == 0:
            return None
        return self.ours / self.theirs


def ratio_check(
    label: str,
    ours: float | None,
    theirs: float | None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> Check:
    """ours/theirs held to a bound: `at_least` (throughput) or `at_most` (cost)."""
    r = None if ours is None or theirs is None or theirs == 0 else ours / theirs
    if at_least is not None:
        target, met = f">= {at_least:g}x", None if r is None else r >= at_least
    elif at_most is not None:
        target, met = f"<= {at_most:g}x", None if r is None else r <= at_most
    else:
        raise ValueError(f"check {label!r}: give at_least or at_most")
    return Check(label, ours, theirs, target, met)


def bound_check(
    label: str, ours: float | None, at_least: float | None = None, at_most: float | None = None
) -> Check:
    """ours held to a fixed bound (e.g. >= 250 registrations/s)."""
    if at_least is not None:
        return Check(
            label, ours, None, f">= {at_least:g}", None if ours is None else ours >= at_least
        )
    if at_most is not None:
        return Check(
            label, ours, None, f"<= {at_most:g}", None if ours is None else ours <= at_most
        )
    raise ValueError(f"check {label!r}: give at_least or at_most")


@dataclass
class BenchReport:
    bench: str
    unit: str = "tx"  # what one committed transaction is, e.g. "registration"
    cpu_groups: list[str] = field(default_factory=list)
    mem_groups: list[str] = field(default_factory=list)
    results: list[LevelResult] = field(default_factory=list)
    reference_label: str = ""
    reference: list[ReferenceLevel] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    startup_seconds: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=lambda: machine_info())
    # the code measured: figures move as the engine changes, so say which commit they belong to
    revision: str | None = field(default_factory=lambda: git_revision())
    date: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def best(self, subject: str) -> LevelResult | None:
        rows = [r for r in self.results if r.subject == subject]
        return max(rows, key=lambda r: r.tps) if rows else None

    def at(self, subject: str, concurrency: int) -> LevelResult | None:
        for r in self.results:
            if r.subject == subject and r.concurrency == concurrency:
                return r
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "date": self.date,
            "machine": self.machine,
            "revision": self.revision,
            "settings": self.settings,
            "startup_seconds": self.startup_seconds,
            "results": [r.summary() for r in self.results],
            "reference": {
                "source": self.reference_label,
                "levels": [asdict(r) for r in self.reference],
            },
            "checks": [{**asdict(c), "ratio": c.ratio} for c in self.checks],
            "notes": self.notes,
        }

    def to_text(self) -> str:
        out = [f"cbp bench {self.bench} — {self.date}, {describe_machine(self.machine)}"]
        if self.revision:
            out.append(f"code: {self.revision}")
        if self.settings:
            out.append("settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()))
        for name, secs in self.startup_seconds.items():
            out.append(f"start to ready ({name}): {secs:.2f} s")
        out.append("")
        out.append(self._table())
        if self.reference:
            out.append("")
            out.append(f"reference: {self.reference_label}")
            out.append(self._reference_table())
        if self.checks:
            out.append("")
            out.append("targets:")
            out.extend("  " + format_check(c) for c in self.checks)
        notes = self.notes + failure_notes(self.results)
        if notes:
            out.append("")
            out.extend(f"note: {n}" for n in notes)
        return "\n".join(out)

    def _table(self) -> str:
        headers = ["subject", "conc", f"{self.unit}/s", "p50", "p99", "ok", "failed"]
        headers += [f"{g} CPU/{self.unit}" for g in self.cpu_groups]
        headers += [f"{g} peak RSS" for g in self.mem_groups]
        headers += [f"{g} PSS" for g in self.mem_groups]
        headers += [f"{g} cores" for g in self.cpu_groups[:1]]
        rows = []
        for r in self.results:
            row = [
                r.subject,
                str(r.concurrency),
                f"{r.tps:.1f}",
                fmt_s(r.p50),
                fmt_s(r.p99),
                str(r.committed),
                str(r.failed),
            ]
            row += [fmt_ms(r.cpu_per_tx(g)) for g in self.cpu_groups]
            row += [fmt_mib(r.hwm_mib(g)) for g in self.mem_groups]
            row += [fmt_mib(r.pss_mib(g)) for g in self.mem_groups]
            row += [fmt_cores(r.cores(g)) for g in self.cpu_groups[:1]]
            rows.append(row)
        return format_table(headers, rows)

    def _reference_table(self) -> str:
        headers = ["conc", "tx/s", "p50", "p99", "CPU/tx", "peak RSS"]
        rows = [
            [
                str(r.concurrency),
                "-" if r.tps is None else f"{r.tps:.0f}",
                fmt_s(r.p50_s),
                fmt_s(r.p99_s),
                fmt_ms(None if r.cpu_ms_per_tx is None else r.cpu_ms_per_tx / 1000),
                fmt_mib(r.rss_mib),
            ]
            for r in self.reference
        ]
        return format_table(headers, rows)


def failure_notes(results: Sequence[LevelResult]) -> list[str]:
    """One line per level that had failures, with what failed and how often."""
    return [
        f"{r.subject} c={r.concurrency}: {r.failed} failed: "
        + "; ".join(f"{n} x {m}" for m, n in sorted(r.errors.items(), key=lambda kv: -kv[1]))
        for r in results
        if r.failed
    ]


def fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s"


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def fmt_mib(mib: float | None) -> str:
    return "-" if mib is None else f"{mib:.0f} MiB"


def fmt_cores(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def fmt_num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}"


def format_check(c: Check) -> str:
    verdict = {True: "MET", False: "NOT MET", None: "not measured"}[c.met]
    if c.theirs is not None:
        r = c.ratio
        figures = f"{fmt_num(c.ours)} vs {fmt_num(c.theirs)} = {'-' if r is None else f'{r:.2f}x'}"
    else:
        figures = fmt_num(c.ours)
    return f"{c.label}: {figures} (target {c.target}) {verdict}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, numbers right."""
    widths = [len(h) for h in headers]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"table row has {len(row)} cells, the header has {len(headers)}")
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    model = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            for ln in f:
                if ln.startswith("MemTotal:"):
                    mem_kib = int(ln.split()[1])
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "node": _node_version(),
        "kernel": platform.release(),
        # other work on the machine skews every figure; say how busy it was when we began
        "loadavg_at_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_revision() -> str | None:
    """The repository's commit, with `+changes` when the work tree differs from it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short=10", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _node_version() -> str | None:
    try:
        done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def describe_machine(m: dict[str, Any]) -> str:
    load = m.get("loadavg_at_start")
    busy = "" if not load else f", load average {load[0]:g} at start"
    return (
        f"{m.get('cores')} cores {m.get('cpu') or '(cpu unknown)'}, {m.get('memory_gib')} GiB{busy}"
    )


def dumps(report: BenchReport) -> str:
    return json.dumps(report.to_json(), indent=2)


__all__ = [
    "BenchReport",
    "Check",
    "bound_check",
    "dumps",
    "failure_notes",
    "fmt_mib",
    "fmt_ms",
    "fmt_s",
    "format_check",
    "format_table",
    "git_revision",
    "machine_info",
    "ratio_check",
]
