"""`EmbeddedEngine`: the sandbox on the project's own engine, as `cbp network up` starts it.

The engine runs as a core (`python -m network.embedded`: the orderer and every peer's ledger)
and one process per peer (`--peer <host>`: its gRPC services, network/embedded/README.md); each
chaincode runs in a server of its own that the engine dials. Most of a
Python process's start is importing grpc, protobuf, cryptography and pydantic, so `begin`
starts two launchers (network/prefork.py) that import the engine's and the chaincode runtime's
modules while the sandbox writes identities and genesis blocks; `up` then has each fork its
processes. This module runs in the `cbp` process, never in the engine.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import Any

from network.ccaas import topology_package
from network.chaincode_servers import chaincode_server_argv
from network.engine import Engine, Say
from network.identities import CryptoLayout
from network.paths import SandboxPaths
from network.processes import Supervisor, port_open
from network.topology import Topology
from network.watchdog import Recipe, write_recipe

EMBEDDED = "embedded-engine"
# Launchers import what their processes need, fork them, and exit (see network/prefork.py).
ENGINE_LAUNCHER = "engine-launcher"
ENGINE_PRELOAD = [
    "network.embedded.server",
    "network.embedded.peer_process",
    "network.embedded.eventloop",
    "network.identities",
]
CHAINCODE_LAUNCHER = "chaincode-launcher"
# What the embedded engine does not open: it has no admin, cluster or operations endpoints, and
# the engine dials chaincode servers instead of listening for them.
NOT_OPENED = (" admin", " cluster", " operations", " chaincode")


def chaincode_id(topology: Topology, paths: SandboxPaths, name: str) -> str:
    """The package id a chaincode server serves as: its ccaas package's, the same on both
    engines (the embedded engine installs the same package bytes as the fabric engine)."""
    return topology_package(topology, name, paths.connection_json(name))[0]


def embedded_processes(
    topology: Topology, paths: SandboxPaths, one_tx_per_block: bool = False
) -> list[tuple[str, list[str]]]:
    """The embedded engine's processes, (name, argv): the core (orderer and every peer's
    ledger), then one per peer, named by its host as Fabric's peers are."""
    base = [sys.executable, "-m", "network.embedded", "--home", str(paths.home)]
    core = base + (["--one-tx-per-block"] if one_tx_per_block else [])
    return [(EMBEDDED, core)] + [(p.host, [*base, "--peer", p.host]) for p in topology.peers]


class EmbeddedEngine:
    name: Engine = "embedded"

    def __init__(
        self,
        topology: Topology,
        paths: SandboxPaths,
        say: Say | None = None,
        one_tx_per_block: bool = False,
    ) -> None:
        self.topology = topology
        self.paths = paths
        self.say: Say = say or (lambda _msg: None)
        self.one_tx_per_block = one_tx_per_block
        self.supervisor = Supervisor(paths)
        self._begun = False

    def listeners(self) -> list[tuple[str, int]]:
        return [
            (n, p)
            for n, p in self.topology.all_ports()
            if not any(n.endswith(s) for s in NOT_OPENED)
        ]

    # ---- chaincode servers -------------------------------------------------------------------

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
        argvs = {n: self.chaincode_argv(n) for n in names}
        env = self.topology.environment()
        self.supervisor.release_preforked(
            CHAINCODE_LAUNCHER, [(f"chaincode-{n}", a) for n, a in argvs.items()], env=env
        )
        for name in names:
            cc = self.topology.chaincodes[name]
            write_recipe(  # the sandbox's watchdog starts it again if it dies
                self.paths,
                Recipe(f"chaincode-{name}", argvs[name], env, ready_port=cc.port),
            )
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

    # ---- up / status / down ------------------------------------------------------------------

    def begin(self) -> None:
        """Start the two launchers, the engine's and the chaincode servers', each importing
        its modules (while the sandbox writes identities) until `up` gives it the processes
        to fork."""
        self.supervisor.start_preforked(
            ENGINE_LAUNCHER, ENGINE_PRELOAD, self.topology.environment()
        )
        self._preload_chaincodes(self._autostart_chaincodes())
        self._begun = True

    def up(self) -> None:
        if not self._begun:
            self.begin()
        # The engine dials a chaincode server only when a transaction first needs it (as a
        # peer does with CCaaS), so both start at once: start-up is the slower of the two, not
        # their sum.
        chaincodes = self._autostart_chaincodes()
        processes = embedded_processes(self.topology, self.paths, self.one_tx_per_block)
        logs = {name: self.paths.log(name) for name, _ in processes}
        offsets = {n: (f.stat().st_size if f.exists() else 0) for n, f in logs.items()}
        env = self.topology.environment()
        released = time.monotonic()
        self.supervisor.release_preforked(ENGINE_LAUNCHER, processes, env=env)
        for name, argv in processes:
            # the sandbox's watchdog starts each again if it dies: the core, and each peer
            # process (which waits for the core, so either may die alone)
            write_recipe(self.paths, Recipe(name, argv, env, ready_log="READY"))
        self._release_chaincodes(chaincodes)
        nodes = len(self.topology.peers) + len(self.topology.orderers)
        self.say(
            f"embedded engine starting: {len(self.topology.peers)} peers, "
            f"{len(self.topology.orderers)} orderer(s), {len(self.topology.channels)} channels "
            f"in {len(processes)} processes (logs {logs[EMBEDDED]}, ...)"
        )

        def ready(name: str) -> bool:
            try:
                with open(logs[name], "rb") as f:
                    f.seek(offsets[name])
                    return b"READY" in f.read()
            except FileNotFoundError:
                return False

        names = [name for name, _ in processes]
        self.supervisor.await_preforked(ENGINE_LAUNCHER, names)
        for n in names:
            self.supervisor.wait_until(n, functools.partial(ready, n), 60, "ready")
        took = time.monotonic() - released
        self._await_chaincodes(chaincodes)
        self.say(f"embedded engine ready: {nodes} nodes serving in {took:.2f} s")

    def status(self) -> dict[str, Any] | None:
        """Nothing beyond the sandbox's own process, listener and height report."""
        return None

    def down(self) -> list[str]:
        """Stops the engine's core and peer processes, the chaincode servers and any launcher,
        each by its pid file."""
        return self.supervisor.stop_all()
