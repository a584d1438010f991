"""The network a benchmark drives: a sandbox it starts for itself, or one already running.

A bench starts its own sandbox in a fresh folder (so no earlier data skews it) and stops every
process it started when it ends, even on error or Ctrl-C. With `--home` (or `--profile`) it
drives a running sandbox and stops nothing; processes are measured only when their pid files
can be found under that folder.

A bench comparing engines starts one sandbox per engine before measuring any, each on its own
ports (the second shifted clear of the first's), so the engines can take turns level by level
(`cbp.bench.paired`) instead of one after the other.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cbp.bench.report import BenchReport
from cbp.bench.runner import BenchError
from cbp.bench.settings import BenchSettings
from network.embedded.engine import EMBEDDED
from network.paths import SandboxPaths, sandbox_paths
from network.processes import WATCHDOG, Supervisor
from network.sandbox import ENGINES, Engine, Sandbox
from network.topology import Topology, load_topology

log = logging.getLogger(__name__)

Say = Callable[[str], None]
CHAINCODE_PREFIX = "chaincode-"
PORT_LIMIT = 65536
SHIFT_STEP = 100  # shifts in hundreds keep each node's ports recognisable (7051 -> 7151)


@dataclass
class Target:
    """A running sandbox to drive, and how to find its processes."""

    topology: Topology
    paths: SandboxPaths
    engine: str
    sandbox: Sandbox
    started_here: bool
    up_seconds: float | None  # how long `Sandbox.up` took, when this bench started it

    @property
    def profile(self) -> Path:
        return self.paths.connection_profile

    def pids(self) -> dict[str, int]:
        """Every live process of the sandbox by name (pid files under run/)."""
        sup = Supervisor(self.paths)
        return {r.name: r.pid for r in sup.running()}

    def engine_pids(self) -> dict[str, int]:
        """The ledger's own processes: the embedded engine, or Fabric's peers and orderers (not
        the chaincode servers, the connectors, nor the watchdog that restarts them all)."""
        return {
            n: p
            for n, p in self.pids().items()
            if not n.startswith((CHAINCODE_PREFIX, "connector-")) and n != WATCHDOG
        }

    def chaincode_pid(self, chaincode: str) -> dict[str, int]:
        name = CHAINCODE_PREFIX + chaincode
        pid = self.pids().get(name)
        return {} if pid is None else {name: pid}


def _engine_of(paths: SandboxPaths) -> str:
    f = paths.run / "engine"
    return f.read_text().strip() if f.exists() else "unknown"


def attach(
    home: str | Path | None, profile: str | Path | None, topology_file: str | None
) -> Target:
    """A running sandbox: its folder from `home`, or the folder holding `profile`."""
    if home is None and profile is not None:
        home = Path(profile).resolve().parent
    paths = sandbox_paths(home)
    if profile is not None and not Path(profile).is_file():
        raise BenchError(f"--profile {profile}: no such file; start the sandbox (cbp network up)")
    if not paths.connection_profile.exists():
        raise BenchError(
            f"no connection profile at {paths.connection_profile}: start the sandbox there "
            "(cbp network up) or drop --home/--profile to let the bench start its own"
        )
    topology = load_topology(topology_file)
    sb = Sandbox(topology, paths)
    return Target(topology, paths, _engine_of(paths), sb, started_here=False, up_seconds=None)


@contextmanager
def own_sandbox(
    engine: Engine,
    port_offset: int,
    say: Say,
    topology_file: str | None = None,
    keep: bool = False,
) -> Iterator[Target]:
    """Start a fresh sandbox on `engine` in a temporary folder; stop it and delete the folder
    afterwards (unless `keep`)."""
    home = Path(tempfile.mkdtemp(prefix=f"cbp-bench-{engine}-"))
    topology = load_topology(topology_file, port_offset=port_offset)
    paths = sandbox_paths(home)
    sb = Sandbox(topology, paths, say=lambda m: say(f"sandbox: {m}"))
    target = Target(topology, paths, engine, sb, started_here=True, up_seconds=None)
    try:
        target.up_seconds = sb.up(engine=engine)
        yield target
    finally:
        try:
            sb.down()
        finally:
            if keep:
                say(f"sandbox folder kept: {home}")
            else:
                shutil.rmtree(home, ignore_errors=True)


@contextmanager
def target_for(
    engine: Engine,
    port_offset: int,
    say: Say,
    home: str | None = None,
    profile: str | None = None,
    topology_file: str | None = None,
    keep: bool = False,
) -> Iterator[Target]:
    if home is not None or profile is not None:
        t = attach(home, profile, topology_file)
        say(f"driving the running sandbox in {t.paths.home} ({t.engine} engine)")
        yield t
        return
    with own_sandbox(engine, port_offset, say, topology_file, keep) as t:
        yield t


@contextmanager
def bench_target(engine: Engine, settings: BenchSettings, report: BenchReport) -> Iterator[Target]:
    """The sandbox a bench drives, as its settings say; the time it took to start goes into the
    report as *start to ready*."""
    with target_for(
        engine, settings.port_offset, settings.say, settings.home, settings.profile,
        settings.topology, settings.keep,
    ) as target:  # fmt: skip
        if target.up_seconds is not None:
            report.startup_seconds[target.engine] = target.up_seconds
        yield target


def fabric_missing() -> str | None:
    """Why real Fabric cannot run here, or None when its binaries are found."""
    from network.fabric.binaries import find_binaries

    try:
        find_binaries()
    except Exception as exc:  # BinariesMissing: its message says what to install
        return str(exc)
    return None


def engines_to_run(
    settings: BenchSettings, engines: Sequence[str] | None, notes: list[str]
) -> list[Engine]:
    """The engines a bench measures, in order; a skipped one is noted with the reason."""
    wanted = [cast(Engine, e) for e in engines] if engines else list(ENGINES)
    if settings.attached:
        return wanted[:1]  # a running sandbox is one engine; it decides which
    out: list[Engine] = []
    for engine in wanted:
        if engine == "fabric":
            why = fabric_missing()
            if why is not None:
                notes.append(f"real Fabric column skipped: {why}")
                continue
        out.append(engine)
    return out


def port_shift(ports: Iterable[int], copies: int = 2, step: int = SHIFT_STEP) -> int:
    """The smallest multiple D of `step` such that `copies` copies of `ports`, the k-th moved by
    k*D, share no port and every port stays below 65536."""
    base = set(ports)
    if not base:
        raise ValueError("port_shift needs at least one port")
    top = max(base)
    d = step
    while top + (copies - 1) * d < PORT_LIMIT:
        if all(base.isdisjoint({p + k * d for p in base}) for k in range(1, copies)):
            return d
        d += step
    raise ValueError(
        f"no shift in steps of {step} fits {copies} copies of ports {min(base)}..{top} "
        f"below {PORT_LIMIT}: lower the port offset"
    )


def engine_port_offsets(base: int, count: int, topology_file: str | None = None) -> list[int]:
    """Port offsets for `count` sandboxes side by side: `base` for the first, then shifted so
    that none listens on another's port (every listener of the running nodes counted, admin,
    cluster and operations included, since real Fabric binds them all)."""
    if count <= 1:
        return [base][:count]
    try:
        ports = [p for _, p in load_topology(topology_file, port_offset=base).all_ports()]
        shift = port_shift(ports, copies=count)
        offsets = [base + k * shift for k in range(count)]
        load_topology(topology_file, port_offset=offsets[-1])  # the topology's own offset rules
    except ValueError as exc:
        raise BenchError(
            f"port offset {base}: no room for {count} sandboxes side by side ({exc}); "
            "use a smaller --port-offset"
        ) from exc
    return offsets


@contextmanager
def engine_targets(
    engines: Sequence[Engine], settings: BenchSettings, report: BenchReport
) -> Iterator[dict[str, Target]]:
    """The sandbox of every engine, by subject name, all started before the first is measured.

    Attached (`--home`/`--profile`): the running sandbox alone, named by its engine. Otherwise
    one fresh sandbox per engine, the first on the settings' port offset, the next shifted by
    `engine_port_offsets`; every one started is stopped when the block ends, also on error,
    Ctrl-C, or when a later one fails to start.
    """
    if settings.attached or len(engines) <= 1:
        if not engines:
            yield {}
            return
        with bench_target(engines[0], settings, report) as target:
            yield {target.engine: target}
        return
    offsets = engine_port_offsets(settings.port_offset, len(engines), settings.topology)
    with ExitStack() as stack:
        targets: dict[str, Target] = {}
        for engine, offset in zip(engines, offsets, strict=True):
            settings.say(f"{engine}: own sandbox on port offset {offset}")
            target = stack.enter_context(
                own_sandbox(engine, offset, settings.say, settings.topology, settings.keep)
            )
            if target.up_seconds is not None:
                report.startup_seconds[engine] = target.up_seconds
            targets[engine] = target
        yield targets


__all__ = [
    "EMBEDDED",
    "ENGINES",
    "Target",
    "attach",
    "bench_target",
    "engine_port_offsets",
    "engine_targets",
    "engines_to_run",
    "fabric_missing",
    "own_sandbox",
    "port_shift",
    "target_for",
]
