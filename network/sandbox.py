"""`cbp network up | status | down | reset`: the sandbox from one command, on either engine.

`prepare` writes everything the engines share (identities, genesis blocks, configtx.yaml, each
chaincode's connection.json and config.json, the connection profile); `up` then has the chosen
engine (a `SandboxEngine`, network/engine.py) start its nodes and the chaincode servers and wait
until they serve. Progress goes to the `say` callback.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from typing import Any, cast

from network.chaincode_servers import write_chaincode_config
from network.configtx import write_configtx_yaml, write_genesis_blocks
from network.embedded.engine import EmbeddedEngine
from network.engine import Engine, SandboxEngine, Say
from network.identities import CryptoLayout, generate_crypto
from network.paths import SandboxPaths
from network.processes import WATCHDOG, ProcessError, Supervisor, port_free, port_open
from network.profile import write_connection_json, write_connection_profile
from network.topology import Topology
from network.watchdog import read_state, restarting, settle, start_watchdog

ENGINES: tuple[Engine, ...] = ("embedded", "fabric")


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked; the message says what to do about it."""


@dataclass(frozen=True)
class Listener:
    address: str  # host:port
    listening: bool


@dataclass
class Status:
    engine: str | None
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    listeners: dict[str, Listener] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return bool(self.processes) and all(p["alive"] for p in self.processes.values())


class Sandbox:
    def __init__(self, topology: Topology, paths: SandboxPaths, say: Say | None = None) -> None:
        self.topology = topology
        self.paths = paths
        self.say: Say = say or (lambda _msg: None)
        self.supervisor = Supervisor(paths)

    # ---- shared artefacts -------------------------------------------------------------------

    def prepare(self, engine: Engine) -> CryptoLayout:
        t0 = time.monotonic()
        layout = CryptoLayout(self.topology, self.paths.crypto)
        if not layout.exists():
            self.say(
                f"generating identities for {len(self.topology.orgs)} orgs in {self.paths.crypto}"
            )
        layout = generate_crypto(self.topology, self.paths.crypto)
        blocks = write_genesis_blocks(
            self.topology, self.paths.crypto, self.paths.channel_artifacts
        )
        write_configtx_yaml(self.topology, self.paths.crypto, self.paths.home / "configtx.yaml")
        for cc in self.topology.chaincodes:
            write_connection_json(self.topology, layout, cc, self.paths.connection_json(cc))
            write_chaincode_config(self.topology, cc, self.paths.chaincode_config(cc))
        write_connection_profile(self.topology, layout, engine, self.paths.connection_profile)
        self.say(f"channel config blocks: {', '.join(blocks)} ({time.monotonic() - t0:.1f} s)")
        return layout

    # ---- up / down / status ------------------------------------------------------------------

    def _recorded_engine(self) -> Engine | None:
        """The engine the last `up` started (run/engine), whether or not it still runs."""
        f = self.paths.run / "engine"
        name = f.read_text().strip() if f.exists() else ""
        return cast(Engine, name) if name in ENGINES else None

    def engine_running(self) -> Engine | None:
        return self._recorded_engine() if self.supervisor.running() else None

    def engine(self, name: Engine, one_tx_per_block: bool = False) -> SandboxEngine:
        """The engine called `name` on this topology and folder."""
        if name == "embedded":
            return EmbeddedEngine(self.topology, self.paths, self.say, one_tx_per_block)
        if name == "fabric":
            from network.fabric import FabricEngine  # imports only when asked for

            return FabricEngine(self.topology, self.paths, say=self.say)
        raise SandboxError(f"no engine {name!r}; engines: {', '.join(ENGINES)}")

    def up(self, engine: Engine = "embedded", one_tx_per_block: bool = False) -> float:
        started = time.monotonic()
        current = self.engine_running()
        if current is not None:
            if current != engine:
                raise SandboxError(
                    f"the sandbox is already running on the {current} engine; "
                    f"run `cbp network down` first to switch to {engine}"
                )
            st = self.status()
            busy = restarting(self.supervisor)
            if busy:
                self.say(f"the watchdog is restarting {', '.join(busy)}; waiting for it")
                settle(self.supervisor)
                st = self.status()
            if [n for n, p in st.processes.items() if not p["alive"]] == [WATCHDOG]:
                start_watchdog(self.supervisor, self.topology.environment())
                self.say("the watchdog had stopped; started it again")
                return 0.0
            if st.up:
                self.say(f"sandbox already running on the {engine} engine; nothing to do")
                return 0.0
            self.say("some sandbox processes have stopped; restarting them")
            self.supervisor.stop_all()
        runner = self.engine(engine, one_tx_per_block)
        self._check_ports(runner)
        (self.paths.run).mkdir(parents=True, exist_ok=True)
        try:
            # the embedded engine's imports (most of start-up's CPU) run while identities and
            # genesis blocks are written; the fabric engine finds its binaries before anything is
            runner.begin()
            self.prepare(engine)
            (self.paths.run / "engine").write_text(engine)
            runner.up()
            start_watchdog(self.supervisor, self.topology.environment())
        except BaseException as exc:  # Ctrl-C too: a half-started network is not left behind
            why = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.say(f"start {why}; stopping what was started")
            self.supervisor.stop_all()
            raise
        elapsed = time.monotonic() - started
        self.say(
            f"sandbox ready on the {engine} engine in {elapsed:.2f} s "
            f"(profile: {self.paths.connection_profile})"
        )
        return elapsed

    def _check_ports(self, runner: SandboxEngine) -> None:
        taken = [(n, p) for n, p in runner.listeners() if not port_free(self.topology.host, p)]
        if taken:
            listing = ", ".join(f"{n} {self.topology.host}:{p}" for n, p in taken)
            raise SandboxError(
                f"ports already in use: {listing}. Stop whatever holds them, or run the sandbox on "
                "other ports with CBP_PORT_OFFSET=<n> (every port shifts by n)"
            )

    def start_chaincodes(self, names: list[str]) -> None:
        """Start the servers of `names` (chaincodes `up` does not start) on the running engine."""
        self.engine(self.engine_running() or "embedded").start_chaincodes(names)

    def engine_status(self) -> dict[str, Any] | None:
        """What the running engine adds to the status (the fabric engine: node health,
        per-node heights, committed chaincodes); None when it adds nothing or none runs."""
        current = self._recorded_engine()
        return self.engine(current).status() if current else None

    def status(self) -> Status:
        st = Status(engine=self._recorded_engine())
        restarts = read_state(self.paths)  # what the watchdog did
        if self.paths.run.exists():
            for pidfile in sorted(self.paths.run.glob("*.pid")):
                name = pidfile.stem
                pid = self.supervisor.pid(name)
                st.processes[name] = {
                    "pid": pid,
                    "alive": self.supervisor.is_running(name),
                    "log": str(self.paths.log(name)),
                    "restarts": int(restarts.get(name, {}).get("restarts", 0)),
                }
        host = self.topology.host
        for p in self.topology.peers:
            st.listeners[p.host] = Listener(p.address, port_open(host, p.port))
        for o in self.topology.orderers:
            st.listeners[o.host] = Listener(o.address, port_open(host, o.port))
        for name, cc in self.topology.chaincodes.items():
            listening = port_open(host, cc.port)
            if cc.autostart or listening:  # on-request servers (benchmarks) only while they run
                st.listeners[f"chaincode {name}"] = Listener(cc.address, listening)
        from network.fabric.partner import load_partners

        for partner in load_partners(self.paths):  # real peers added by `cbp network add-peer`
            st.listeners[partner.host] = Listener(
                f"{host}:{partner.port}", port_open(host, partner.port)
            )
        return st

    def down(self) -> list[str]:
        engine = self._recorded_engine()
        # the watchdog first, or it would start again what is being stopped
        stopped: list[str] = [WATCHDOG] if self.supervisor.stop(WATCHDOG) else []
        if engine:
            stopped += self.engine(engine).down()
        # anything left with a pid file (a launcher, a server of an engine no longer recorded)
        stopped += self.supervisor.stop_all()
        for name in stopped:
            self.say(f"stopped {name}")
        (self.paths.run / "engine").unlink(missing_ok=True)
        if not stopped:
            self.say("nothing was running")
        return stopped

    def reset(self) -> None:
        """Stop everything and delete the sandbox folder: the next `up` starts a new network."""
        self.down()
        if self.paths.home.exists():
            shutil.rmtree(self.paths.home)
            self.say(f"removed {self.paths.home}")


__all__ = ["ENGINES", "Engine", "Listener", "ProcessError", "Sandbox", "SandboxError", "Status"]
