"""The network a benchmark drives: a sandbox it starts for itself, or one already running.

A bench starts its own sandbox in a fresh folder (so no earlier data skews it) and stops every
process it started when it ends, even on error or Ctrl-C. With `--home` (or `--profile`) it
drives a running sandbox and stops nothing; processes are measured only when their pid files
can be found under that folder.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cbp.bench.report import BenchReport
from cbp.bench.settings import BenchSettings
from network.paths import SandboxPaths, sandbox_paths
from network.processes import Supervisor
from network.sandbox import EMBEDDED, Engine, Sandbox
from network.topology import Topology, load_topology

log = logging.getLogger(__name__)

Say = Callable[[str], None]
CHAINCODE_PREFIX = "chaincode-"


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
        """The ledger's own processes: the embedded engine, or Fabric's peers and orderers."""
        return {n: p for n, p in self.pids().items() if not n.startswith(CHAINCODE_PREFIX)}

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
    if not paths.connection_profile.exists():
        raise FileNotFoundError(
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


__all__ = ["EMBEDDED", "Target", "attach", "bench_target", "own_sandbox", "target_for"]
