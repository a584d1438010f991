"""Runs one load driver as a child process and measures the processes under test around
each of its windows.

The driver says when a window opens and closes (`cbp.bench.protocol`); at both moments the
runner reads /proc for every watched group of processes (the engine, chaincode servers, the
driver itself as "client"), so CPU time is charged over exactly the span whose commits are
counted.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cbp.bench import procstat
from cbp.bench.procstat import ProcSample
from cbp.bench.protocol import LoadConfig, decode_event
from cbp.bench.stats import LevelResult

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DRIVER = Path(__file__).resolve().parent / "node" / "driver.js"
CLIENT = "client"

Say = Callable[[str], None]


class BenchError(RuntimeError):
    """A benchmark could not run; the message names what failed and where to look."""


def python_driver_argv() -> list[str]:
    return [sys.executable, "-m", "cbp.bench.driver"]


def node_driver_argv() -> list[str]:
    return ["node", str(NODE_DRIVER)]


@dataclass
class Watch:
    """Groups of processes to measure, each a name -> pid map (e.g. engine: {embedded-engine: 42})."""

    groups: dict[str, dict[str, int]] = field(default_factory=dict)

    def sample(self, client_pid: int | None) -> dict[str, ProcSample]:
        pids = {f"{g}/{n}": p for g, members in self.groups.items() for n, p in members.items()}
        if client_pid is not None:
            pids[f"{CLIENT}/driver"] = client_pid
        try:
            by_process = procstat.sample_group(pids)
        except procstat.ProcStatError as exc:
            raise BenchError(f"a measured process exited during the benchmark: {exc}") from exc
        out: dict[str, ProcSample] = {}
        for key, s in by_process.items():
            group = key.split("/", 1)[0]
            out[group] = out.get(group, procstat.ZERO) + s
        return out


def level_result(
    subject: str,
    end_event: Mapping[str, Any],
    before: Mapping[str, ProcSample],
    after: Mapping[str, ProcSample],
) -> LevelResult:
    """The figures of one window from the driver's counts and the two /proc readings."""
    return LevelResult(
        subject=subject,
        concurrency=int(end_event["level"]),
        window_seconds=float(end_event["elapsed"]),
        committed=int(end_event["committed"]),
        failed=int(end_event["failed"]),
        latencies=[float(x) / 1000 for x in end_event.get("latencies_ms", [])],
        errors={str(k): int(v) for k, v in dict(end_event.get("errors") or {}).items()},
        cpu_seconds={g: after[g].cpu_seconds - before[g].cpu_seconds for g in after if g in before},
        rss_bytes={g: s.rss_bytes for g, s in after.items()},
        hwm_bytes={g: s.hwm_bytes for g, s in after.items()},
        pss_bytes={g: s.pss_bytes for g, s in after.items()},
        kinds={
            str(k): [float(x) / 1000 for x in v]
            for k, v in dict(end_event.get("kinds_ms") or {}).items()
        },
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_driver(
    argv: list[str],
    config: LoadConfig,
    watch: Watch,
    subject: str,
    say: Say,
    log_path: Path,
    on_level: Callable[[LevelResult], None] | None = None,
) -> list[LevelResult]:
    """Run the driver over every level of `config`; one result per level, in order."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    with open(log_path, "ab") as errlog:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errlog,
                cwd=REPO_ROOT,
                env=env,
                text=True,
            )
        except FileNotFoundError as exc:
            raise BenchError(f"load driver {argv[0]!r} cannot be started: {exc}") from exc
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(config.model_dump_json())
        proc.stdin.close()
        return _follow(proc, proc.stdout, config, watch, subject, say, log_path, on_level)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _line_reader(out: IO[str]) -> queue.Queue[str]:
    """Lines of `out` as they arrive ("" at the end), read on a thread: each event is handled,
    and /proc read, the moment the driver writes it, not when a buffer happens to fill."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in out:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, name="bench-driver-stdout", daemon=True).start()
    return lines


def _follow(
    proc: subprocess.Popen[str],
    out: IO[str],
    config: LoadConfig,
    watch: Watch,
    subject: str,
    say: Say,
    log_path: Path,
    on_level: Callable[[LevelResult], None] | None,
) -> list[LevelResult]:
    # the longest silence a healthy driver keeps: a whole warm-up, or the drain after a window
    patience = max(config.warmup, config.progress_every) + config.drain_timeout + 60
    results: list[LevelResult] = []
    before: dict[str, ProcSample] = {}
    lines = _line_reader(out)
    while True:
        try:
            line = lines.get(timeout=patience)
        except queue.Empty:
            raise BenchError(
                f"load driver for {subject} silent for {patience:.0f} s; read {log_path}:\n"
                + _tail(log_path)
            ) from None
        if not line:
            code = proc.wait()
            raise BenchError(
                f"load driver for {subject} exited (code {code}) before it finished; "
                f"read {log_path}:\n" + _tail(log_path)
            )
        ev = decode_event(line)
        kind = ev["event"]
        if kind == "ready":
            say(f"{subject}: connected, first transaction committed")
        elif kind == "window_start":
            before = watch.sample(proc.pid)
            say(f"{subject} c={ev['level']}: warm-up done, measuring {config.duration:g} s")
        elif kind == "progress":
            rate = ev["committed"] / ev["elapsed"] if ev["elapsed"] else 0.0
            say(
                f"{subject} c={ev['level']}: {ev['elapsed']:.0f} s, {ev['committed']} committed "
                f"({rate:.0f} tx/s), {ev['failed']} failed"
            )
        elif kind == "window_end":
            after = watch.sample(proc.pid)
            result = level_result(subject, ev, before, after)
            results.append(result)
            p50 = result.p50
            say(
                f"{subject} c={result.concurrency}: {result.tps:.1f} tx/s, "
                f"p50 {'-' if p50 is None else f'{p50 * 1000:.0f} ms'}, "
                f"{result.failed} failed"
            )
            for msg, n in result.errors.items():
                say(f"{subject} c={result.concurrency}:   {n} x {msg}")
            if on_level is not None:
                on_level(result)
        elif kind == "done":
            proc.wait(30)
            return results
        elif kind == "error":
            raise BenchError(f"load driver for {subject} failed: {ev.get('message')}")
        else:
            log.debug("ignoring driver event %s", kind)


__all__ = [
    "BenchError",
    "CLIENT",
    "Watch",
    "level_result",
    "node_driver_argv",
    "python_driver_argv",
    "run_driver",
]
