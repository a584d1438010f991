"""`cbp network up | status | down | reset`: the sandbox from one command, on either engine.

`prepare` writes everything both engines share (identities, genesis blocks, configtx.yaml,
chaincode connection.json, the connection profile); `up` then starts the chosen engine and the
chaincode servers and waits until they serve. Progress goes to the `say` callback.
"""

from __future__ import annotations

import functools
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from network.ccaas import topology_package
from network.chaincode_servers import chaincode_server_argv, write_chaincode_config
from network.configtx import write_configtx_yaml, write_genesis_blocks
from network.identities import CryptoLayout, generate_crypto
from network.paths import SandboxPaths
from network.processes import ProcessError, Supervisor, port_free, port_open
from network.profile import write_connection_json, write_connection_profile
from network.topology import Topology

Engine = Literal["embedded", "fabric"]
Say = Callable[[str], None]
EMBEDDED = "embedded-engine"
# Launchers import what their processes need, fork them, and exit (see network/prefork.py).
ENGINE_LAUNCHER = "engine-launcher"
ENGINE_PRELOAD = ["network.embedded.server", "network.embedded.eventloop", "network.identities"]
CHAINCODE_LAUNCHER = "chaincode-launcher"


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked; the message says what to do about it."""


@dataclass
class Status:
    engine: str | None
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    listeners: dict[str, bool] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return bool(self.processes) and all(p["alive"] for p in self.processes.values())


def chaincode_id(topology: Topology, paths: SandboxPaths, name: str) -> str:
    """The package id a chaincode server serves as: its ccaas package's, the same on both
    engines (the embedded engine installs the same package bytes as the fabric engine)."""
    return topology_package(topology, name, paths.connection_json(name))[0]


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

    def engine_running(self) -> str | None:
        f = self.paths.run / "engine"
        return f.read_text().strip() if f.exists() and self.supervisor.running() else None

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
            if st.up:
                self.say(f"sandbox already running on the {engine} engine; nothing to do")
                return 0.0
            self.say("some sandbox processes have stopped; restarting them")
            self.supervisor.stop_all()
        self._check_ports(engine)
        (self.paths.run).mkdir(parents=True, exist_ok=True)
        try:
            if engine == "embedded":
                # the engine's and the chaincode servers' imports (most of start-up's CPU) run
                # while identities and genesis blocks are written
                self._preload_embedded()
            self.prepare(engine)
            (self.paths.run / "engine").write_text(engine)
            if engine == "embedded":
                self._up_embedded(one_tx_per_block)
            else:
                self._up_fabric()
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

    def _check_ports(self, engine: Engine) -> None:
        wanted = self.topology.all_ports()
        if engine == "embedded":
            # the embedded engine serves peers, orderer and chaincode servers; no admin/ops ports
            wanted = [
                (n, p)
                for n, p in wanted
                if not any(
                    n.endswith(s) for s in (" admin", " cluster", " operations", " chaincode")
                )
            ]
        taken = [(n, p) for n, p in wanted if not port_free(self.topology.host, p)]
        if taken:
            listing = ", ".join(f"{n} {self.topology.host}:{p}" for n, p in taken)
            raise SandboxError(
                f"ports already in use: {listing}. Stop whatever holds them, or run the sandbox on "
                "other ports with CBP_PORT_OFFSET=<n> (every port shifts by n)"
            )

    def chaincode_argv(self, name: str) -> list[str]:
        layout = CryptoLayout(self.topology, self.paths.crypto)
        return chaincode_server_argv(
            self.topology,
            layout,
            name,
            chaincode_id(self.topology, self.paths, name),
            self.paths.chaincode_config(name),
        )

    def start_chaincodes(self, names: list[str]) -> None:
        self._preload_chaincodes(names)
        self._release_chaincodes(names)
        self._await_chaincodes(names)

    def _preload_chaincodes(self, names: list[str]) -> None:
        """Start the chaincode launcher for the Python chaincodes among `names`, if any (a
        server with its own command, like the Node one, is started as it is)."""
        contracts = {
            self.topology.chaincodes[n].contract.partition(":")[0]
            for n in names
            if not self.topology.chaincodes[n].server
        }
        if contracts:
            self.supervisor.start_preforked(
                CHAINCODE_LAUNCHER,
                ["chaincode.runtime.cli", "uvloop", *sorted(contracts)],
                self.topology.environment(),
            )

    def _release_chaincodes(self, names: list[str]) -> None:
        self.supervisor.release_preforked(
            CHAINCODE_LAUNCHER,
            [(f"chaincode-{n}", self.chaincode_argv(n)) for n in names],
            env=self.topology.environment(),
        )
        for name in names:
            cc = self.topology.chaincodes[name]
            self.say(f"chaincode server {name} ({cc.contract}) starting on {cc.address}")

    def _await_chaincodes(self, names: list[str]) -> None:
        self.supervisor.await_preforked(CHAINCODE_LAUNCHER, [f"chaincode-{n}" for n in names])
        for name in names:
            cc = self.topology.chaincodes[name]
            self.supervisor.wait_until(
                f"chaincode-{name}",
                functools.partial(port_open, self.topology.host, cc.port),
                30,
                f"listening on {cc.address}",
            )

    def _autostart_chaincodes(self) -> list[str]:
        return [n for n, cc in self.topology.chaincodes.items() if cc.autostart]

    def _preload_embedded(self) -> None:
        """Start the two launchers, the engine's and the chaincode servers', each importing
        its modules until `_up_embedded` gives it the processes to fork."""
        self.supervisor.start_preforked(
            ENGINE_LAUNCHER, ENGINE_PRELOAD, self.topology.environment()
        )
        self._preload_chaincodes(self._autostart_chaincodes())

    def _up_embedded(self, one_tx_per_block: bool) -> None:
        # The engine dials a chaincode server only when a transaction first needs it (as a
        # peer does with CCaaS), so both start at once: start-up is the slower of the two, not
        # their sum.
        chaincodes = self._autostart_chaincodes()
        argv = [sys.executable, "-m", "network.embedded", "--home", str(self.paths.home)]
        if one_tx_per_block:
            argv.append("--one-tx-per-block")
        log = self.paths.log(EMBEDDED)
        offset = log.stat().st_size if log.exists() else 0
        env = self.topology.environment()
        self.supervisor.release_preforked(ENGINE_LAUNCHER, [(EMBEDDED, argv)], env=env)
        self._release_chaincodes(chaincodes)
        nodes = len(self.topology.peers) + len(self.topology.orderers)
        self.say(
            f"embedded engine starting: {len(self.topology.peers)} peers, "
            f"{len(self.topology.orderers)} orderer(s), {len(self.topology.channels)} channels "
            f"(log {log})"
        )

        def ready() -> bool:
            try:
                with open(log, "rb") as f:
                    f.seek(offset)
                    return b"READY" in f.read()
            except FileNotFoundError:
                return False

        self.supervisor.await_preforked(ENGINE_LAUNCHER, [EMBEDDED])
        took = self.supervisor.wait_until(EMBEDDED, ready, 60, "ready")
        self._await_chaincodes(chaincodes)
        self.say(f"embedded engine ready: {nodes} nodes serving in {took:.2f} s")

    def _up_fabric(self) -> None:
        try:
            from network.fabric import FabricEngine
        except ImportError as exc:  # pragma: no cover - present in every checkout
            raise SandboxError(f"the fabric engine is not available: {exc}") from exc
        FabricEngine(self.topology, self.paths, say=self.say).up()

    def status(self) -> Status:
        f = self.paths.run / "engine"
        st = Status(engine=f.read_text().strip() if f.exists() else None)
        if self.paths.run.exists():
            for pidfile in sorted(self.paths.run.glob("*.pid")):
                name = pidfile.stem
                pid = self.supervisor.pid(name)
                st.processes[name] = {
                    "pid": pid,
                    "alive": self.supervisor.is_running(name),
                    "log": str(self.paths.log(name)),
                }
        host = self.topology.host
        for p in self.topology.peers:
            st.listeners[p.host] = port_open(host, p.port)
        for o in self.topology.orderers:
            st.listeners[o.host] = port_open(host, o.port)
        from network.fabric.partner import load_partners

        for partner in load_partners(self.paths):  # real peers added by `cbp network add-peer`
            st.listeners[partner.host] = port_open(host, partner.port)
        for name, cc in self.topology.chaincodes.items():
            listening = port_open(host, cc.port)
            if cc.autostart or listening:  # on-request servers (benchmarks) only while they run
                st.listeners[f"chaincode {name}"] = listening
        return st

    def down(self) -> list[str]:
        engine = self.status().engine
        stopped: list[str] = []
        if engine == "fabric":
            from network.fabric import FabricEngine

            stopped += FabricEngine(self.topology, self.paths, say=self.say).down()
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


__all__ = ["Sandbox", "SandboxError", "ProcessError", "Status", "chaincode_id"]
