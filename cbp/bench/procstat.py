"""CPU time and memory of the processes under test, read from /proc (Linux).

CPU time of a process is utime+stime of every thread; a process tree adds its live
descendants and the children already reaped (cutime+cstime), so that work an engine hands to
a helper process is charged to the engine. Peak memory is VmHWM, the resident-set high-water
mark the kernel keeps per process since it started; summed over processes it counts every page
they share (libraries, a forked parent's memory) once per process. PSS, the proportional set
size at the moment of reading (`smaps_rollup`), counts a page shared by n processes 1/n in
each, so a group's sum is the memory it really occupies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProcStatError(RuntimeError):
    """A process under measurement cannot be read; the message names the pid and the file."""


@dataclass(frozen=True)
class ProcSample:
    """One reading of a process (or a tree or group of them)."""

    cpu_seconds: float
    rss_bytes: int
    hwm_bytes: int
    pss_bytes: int = 0

    def __add__(self, other: ProcSample) -> ProcSample:
        return ProcSample(
            self.cpu_seconds + other.cpu_seconds,
            self.rss_bytes + other.rss_bytes,
            self.hwm_bytes + other.hwm_bytes,
            self.pss_bytes + other.pss_bytes,
        )


ZERO = ProcSample(0.0, 0, 0, 0)


def parse_stat(text: str) -> tuple[int, float, float]:
    """(ppid, own cpu seconds, reaped children's cpu seconds) from /proc/<pid>/stat.

    The command name (field 2) may hold spaces and parentheses, so fields are counted from
    the last ')'.
    """
    try:
        rest = text[text.rindex(")") + 2 :].split()
    except ValueError:
        raise ProcStatError(
            f"/proc stat line has no ')' after the command: {text[:80]!r}"
        ) from None
    # rest[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17
    ppid = int(rest[1])
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return ppid, (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def parse_status_kib(text: str, field: str) -> int:
    """A `<field>: <n> kB` line of /proc/<pid>/status, in bytes (0 when absent, e.g. a zombie)."""
    for line in text.splitlines():
        if line.startswith(field + ":"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return 0


def _read(pid: int, name: str) -> str:
    try:
        return (PROC / str(pid) / name).read_text()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcStatError(f"process {pid} is gone (no {PROC}/{pid}/{name})") from None


def sample_process(pid: int) -> ProcSample:
    """This process alone, all its threads, plus the children it has reaped."""
    _, own, reaped = parse_stat(_read(pid, "stat"))
    status = _read(pid, "status")
    try:
        pss = parse_status_kib(_read(pid, "smaps_rollup"), "Pss")
    except (ProcStatError, PermissionError):
        pss = 0  # a kernel without smaps_rollup, or not ours to read
    return ProcSample(
        own + reaped,
        parse_status_kib(status, "VmRSS"),
        parse_status_kib(status, "VmHWM"),
        pss,
    )


def children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process visible now."""
    out: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid, _, _ = parse_stat((entry / "stat").read_text())
        except (OSError, ProcStatError, ValueError, IndexError):
            continue  # exited while we listed, or not ours to read
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def descendants(pid: int, children: Mapping[int, Iterable[int]]) -> list[int]:
    """`pid` and every live descendant, parents first."""
    out: list[int] = []
    todo = [pid]
    seen: set[int] = set()
    while todo:
        p = todo.pop(0)
        if p in seen:
            continue
        seen.add(p)
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def sample_tree(pid: int, children: Mapping[int, Iterable[int]] | None = None) -> ProcSample:
    """`pid` and its live descendants summed; a descendant that exits meanwhile is skipped."""
    tree = descendants(pid, children if children is not None else children_map())
    total = sample_process(tree[0])  # the root must be there: it is what we measure
    for p in tree[1:]:
        try:
            total = total + sample_process(p)
        except ProcStatError:
            continue
    return total


def sample_group(pids: Mapping[str, int]) -> dict[str, ProcSample]:
    """Each named process tree, read in one pass over /proc."""
    children = children_map()
    return {name: sample_tree(pid, children) for name, pid in pids.items()}


def total(samples: Mapping[str, ProcSample]) -> ProcSample:
    out = ZERO
    for s in samples.values():
        out = out + s
    return out


__all__ = [
    "ProcSample",
    "ProcStatError",
    "ZERO",
    "children_map",
    "descendants",
    "parse_stat",
    "parse_status_kib",
    "sample_group",
    "sample_process",
    "sample_tree",
    "total",
]
