"""`FabricEngine`: the sandbox topology on real Hyperledger Fabric processes, natively.

`up` runs, in order, and skips whatever is already done (so `up` twice is harmless):
render each node's config -> start orderers, wait for /healthz and the admin port ->
`osnadmin channel join` every channel with the project's genesis block -> start peers ->
`peer channel join` -> check anchor peers -> package each chaincode as ccaas, start its
server, install, approve for each peer org, commit -> readiness through every gateway.
Progress goes to `say`; every wait says what it waits for.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..chaincode_servers import REPO_ROOT, chaincode_server_argv
from ..engine import Engine
from ..identities import CryptoLayout
from ..paths import SandboxPaths
from ..processes import Supervisor, port_free, port_open
from ..topology import Topology
from ..watchdog import Recipe, write_recipe
from . import channels as ch
from . import lifecycle as lc
from . import probe
from .binaries import FabricBinaries, find_binaries
from .cli import OsnAdmin, PeerCLI
from .config import write_node_config
from .errors import FabricError, MaterialMissing, NodeFailed, PortInUse
from .health import healthz, wait_for, wait_healthy
from .nodes import FabricNode, fabric_home, node_table, orderers, peers

log = logging.getLogger(__name__)

Say = Callable[[str], None]
READINESS_CHAINCODE = "smoke"


def chaincode_process(name: str) -> str:
    return f"chaincode-{name}"


class FabricEngine:
    """The `SandboxEngine` on real Fabric processes (network/engine.py)."""

    name: Engine = "fabric"

    def __init__(
        self,
        topology: Topology,
        paths: SandboxPaths,
        say: Say | None = None,
        binaries: FabricBinaries | None = None,
    ) -> None:
        self.topology = topology
        self.paths = paths
        self.say: Say = say or (lambda msg: log.info("%s", msg))
        self._bins = binaries
        self.supervisor = Supervisor(paths)
        self.crypto = CryptoLayout(topology, paths.crypto)
        self.nodes = node_table(topology, paths)

    # ---- helpers ----------------------------------------------------------------------------

    @property
    def bins(self) -> FabricBinaries:
        if self._bins is None:
            self._bins = find_binaries()
        return self._bins

    def _waiting(self, note: str) -> None:
        self.say(f"  waiting: {note}")

    def _node(self, name: str) -> FabricNode:
        return next(n for n in self.nodes if n.name == name)

    def peer_cli(self, node: FabricNode) -> PeerCLI:
        return PeerCLI(self.bins, self.crypto, node, orderers(self.nodes)[0], on_wait=self._waiting)

    def channel_blocks(self) -> dict[str, Path]:
        return {c: self.paths.genesis_block(c) for c in self.topology.channels}

    def _check_material(self) -> None:
        missing = [] if self.crypto.exists() else [str(self.paths.crypto)]
        missing += [str(b) for b in self.channel_blocks().values() if not b.exists()]
        missing += [
            str(self.paths.connection_json(c))
            for c in self.topology.chaincodes
            if not self.paths.connection_json(c).exists()
        ]
        if missing:
            raise MaterialMissing(
                "the fabric engine runs the project's own identities, genesis blocks and "
                f"connection.json files, and these are missing: {', '.join(missing)}; "
                "`cbp network up --engine fabric` writes them first"
            )

    # ---- up ---------------------------------------------------------------------------------

    def listeners(self) -> list[tuple[str, int]]:
        return self.topology.all_ports()

    def begin(self) -> None:
        """Find the binaries before the sandbox writes anything: without them, nothing is
        written and the error says where they were looked for."""
        _ = self.bins

    def up(self) -> None:
        t0 = time.monotonic()
        bins = self.bins
        self.say(f"fabric engine: Hyperledger Fabric {bins.version()} from {bins.peer.parent}")
        self._check_material()
        for node in self.nodes:
            write_node_config(node, self.topology, self.paths)
        for node in orderers(self.nodes):
            self._start_node(node, [str(bins.orderer)])
        self._join_orderers()
        for node in peers(self.nodes):
            self._start_node(node, [str(bins.peer), "node", "start"])
        self._join_peers()
        self._check_anchor_peers()
        packages = self._packages()
        # servers first: Fabric launches (dials) a ccaas chaincode as soon as it is committed
        self._start_chaincode_servers(
            {n: p for n, p in packages.items() if self.topology.chaincodes[n].autostart}
        )
        self._deploy_chaincodes(packages)
        self.wait_ready()
        self.say(f"fabric engine: network up in {time.monotonic() - t0:.1f}s")

    def attach(self, timeout: float = 120.0) -> None:
        """Channels and chaincodes on nodes and chaincode servers that something else runs
        (docker compose): waits for each to answer, then joins, deploys and checks readiness
        exactly as `up` does. Starts and stops nothing."""
        t0 = time.monotonic()
        self.say(f"fabric engine (attach): Hyperledger Fabric CLI {self.bins.version()}")
        self._check_material()
        for node in self.nodes:
            # the CLI reads core.yaml from FABRIC_CFG_PATH; the nodes run their own copies
            write_node_config(node, self.topology, self.paths)
        for node in self.nodes:
            took = _wait_external(
                node.name,
                functools.partial(_healthy, node.healthz_url),
                "healthy (/healthz)",
                timeout,
            )
            if node.admin_port is not None:
                _wait_external(
                    node.name,
                    functools.partial(port_open, node.host, node.admin_port),
                    f"listening on its admin port {node.admin_port}",
                    timeout,
                )
            self.say(f"{node.name} healthy (waited {took:.1f}s)")
        self._join_orderers()
        self._join_peers()
        self._check_anchor_peers()
        packages = self._packages()
        self._deploy_chaincodes(packages)
        for name, cc in self.topology.chaincodes.items():
            if not cc.autostart:
                continue
            _wait_external(
                f"chaincode server {name}",
                functools.partial(port_open, self.topology.host, cc.port),
                f"listening on {cc.address} as {packages[name].package_id}",
                timeout,
            )
        self.wait_ready()
        self.say(f"fabric engine (attach): network ready in {time.monotonic() - t0:.1f}s")

    def _start_node(self, node: FabricNode, argv: list[str]) -> None:
        if self.supervisor.is_running(node.name):
            ok, _ = healthz(node.healthz_url)
            if ok:
                self.say(f"{node.name} already running")
                return
        else:
            for what, port in node.listeners():
                if not port_free(node.host, port):
                    raise PortInUse(f"{node.name} ({what})", port, node.log)
            env = {"FABRIC_CFG_PATH": str(node.config_dir), "FABRIC_LOGGING_SPEC": "info"}
            self.supervisor.start(node.name, argv, env=env)
            # the sandbox's watchdog starts it again if it dies
            write_recipe(self.paths, Recipe(node.name, argv, env, ready_port=node.port))
            self.say(f"{node.name} starting on {node.address} (log {node.log})")
        took = wait_healthy(node, self.supervisor)
        self.say(f"{node.name} healthy after {took:.1f}s")

    def _join_orderers(self) -> None:
        blocks = self.channel_blocks()
        for node in orderers(self.nodes):
            admin = OsnAdmin(self.bins, self.crypto, node, on_wait=self._waiting)
            joined = ch.join_orderer(admin, blocks)
            if joined:
                self.say(f"{node.name} joined {', '.join(joined)} (osnadmin channel join)")
            for channel in blocks:
                ch.wait_orderer_active(admin, channel)
        self.say(
            "ordering service: every channel active (a restarted Raft node may still be "
            "electing its leader; the next steps wait for it)"
        )

    def _join_peers(self) -> None:
        blocks = self.channel_blocks()
        for node in peers(self.nodes):
            mine = {c: blocks[c] for c in self.topology.peer_channels(self._peer(node))}
            joined = ch.join_peer(self.peer_cli(node), mine)
            if joined:
                self.say(f"{node.name} joined {', '.join(joined)} (peer channel join)")

    def _peer(self, node: FabricNode) -> Any:
        return self.topology.peer(node.name)

    def _check_anchor_peers(self) -> None:
        for channel, block in self.channel_blocks().items():
            anchors = ch.anchor_peers(block)
            for org in self.topology.channel(channel).orgs:
                o = self.topology.orgs[org]
                has_peers = any(p.org == org for p in self.topology.peers)
                if has_peers and not anchors.get(o.msp_id):
                    raise FabricError(
                        f"channel {channel}: org {o.msp_id} runs peers but its genesis block "
                        "declares no anchor peer, so other orgs' gateways cannot find them"
                    )
        self.say("anchor peers: declared for every peer org in each channel's config")

    # ---- chaincode --------------------------------------------------------------------------

    def _packages(self) -> dict[str, lc.CcaasPackage]:
        out = fabric_home(self.paths) / "packages"
        return {
            name: lc.write_package(self.topology, self.paths, name, out)
            for name in self.topology.chaincodes
        }

    def chaincode_argv(self, name: str, package_id: str) -> list[str]:
        """The chaincode server's command, serving the package id Fabric launches it under."""
        return chaincode_server_argv(
            self.topology, self.crypto, name, package_id, self.paths.chaincode_config(name)
        )

    def start_chaincodes(self, names: list[str]) -> None:
        """Starts the servers of `names` (e.g. `autostart: false` ones a test wants) with the
        package ids Fabric launches them under."""
        packages = self._packages()
        self._start_chaincode_servers({n: packages[n] for n in names})

    def _start_chaincode_servers(self, packages: dict[str, lc.CcaasPackage]) -> None:
        for name, pkg in packages.items():
            cc = self.topology.chaincodes[name]
            proc = chaincode_process(name)
            if self.supervisor.is_running(proc):
                continue
            if not port_free(self.topology.host, cc.port):
                raise PortInUse(f"chaincode server {name}", cc.port, self.paths.log(proc))
            argv = self.chaincode_argv(name, pkg.package_id)
            env = {
                **self.topology.environment(),
                "CHAINCODE_SERVER_ADDRESS": cc.address,
                "CORE_CHAINCODE_ID_NAME": pkg.package_id,
            }
            self.supervisor.start(proc, argv, cwd=REPO_ROOT, env=env)
            write_recipe(
                self.paths, Recipe(proc, argv, env, cwd=str(REPO_ROOT), ready_port=cc.port)
            )
            self.say(
                f"chaincode server {name} ({cc.contract}) starting on {cc.address} "
                f"as {pkg.package_id}"
            )
        for name in packages:
            cc = self.topology.chaincodes[name]
            proc = chaincode_process(name)
            wait_for(
                proc,
                self.paths.log(proc),
                self.supervisor,
                functools.partial(port_open, self.topology.host, cc.port),
                f"listening on {cc.address}",
                30,
            )

    def _deploy_chaincodes(self, packages: dict[str, lc.CcaasPackage]) -> None:
        topo = self.topology
        wanted = {
            p.host
            for c in topo.channels.values()
            if c.chaincodes
            for p in topo.channel_peers(c.name)
        }
        for node in peers(self.nodes):
            if node.name not in wanted:
                continue
            cli = self.peer_cli(node)
            names = sorted(
                {cc for c in topo.channels.values() for cc in c.chaincodes if node.org in c.orgs}
            )
            done = [n for n in names if lc.install(cli, packages[n])]
            if done:
                self.say(f"{node.name}: installed {', '.join(done)}")
        work = fabric_home(self.paths) / "packages"
        for channel, spec in topo.channels.items():
            ch_peers = [self.peer_cli(self._node(p.host)) for p in topo.channel_peers(channel)]
            one_per_org = list({c.node.org: c for c in ch_peers}.values())
            for name in spec.chaincodes:
                cc = topo.chaincodes[name]
                lc.check_collections(cc, channel, {topo.orgs[o].msp_id for o in spec.orgs})
                if lc.committed_sequence(one_per_org[0], channel, name) >= cc.sequence:
                    continue
                colls = None
                if cc.collections:
                    colls = work / f"{name}-collections.json"
                    colls.write_text(json.dumps(lc.collections_config(cc), indent=2))
                approved = lc.approvals(one_per_org[0], cc, channel, colls)
                for cli in one_per_org:
                    if not approved.get(cli.node.msp_id):
                        lc.approve(cli, cc, channel, packages[name], colls)
                lc.commit(one_per_org[0], cc, channel, one_per_org, colls)
                self.say(
                    f"{channel}: chaincode {name} {cc.version} committed "
                    f"(sequence {cc.sequence}, approved by "
                    f"{', '.join(c.node.msp_id for c in one_per_org)})"
                )

    # ---- readiness --------------------------------------------------------------------------

    def wait_ready(self, chaincode: str = READINESS_CHAINCODE, timeout: float = 90.0) -> None:
        """A committed transaction through every peer's gateway on every channel that runs
        `chaincode`, endorsed by every peer org of that channel."""
        topo = self.topology
        for channel, spec in topo.channels.items():
            if chaincode not in spec.chaincodes:
                continue
            ch_peers = topo.channel_peers(channel)
            orgs = sorted({p.msp_id for p in ch_peers})
            for p in ch_peers:
                node = self._node(p.host)
                admin = self.crypto.user_dir(p.org, "Admin")
                signer = probe.Signer.from_files(
                    p.msp_id, self.crypto.signcert(admin), self.crypto.keystore(admin)
                )
                args = [b"Put", f"cbp-readiness-{p.host}".encode(), str(time.time()).encode()]
                try:
                    took, block = probe.submit_until_ready(
                        node.address,
                        node.tls_ca,
                        signer,
                        channel,
                        chaincode,
                        args,
                        orgs,
                        timeout,
                        on_wait=self._waiting,
                        client_tls=(admin / "tls" / "client.crt", admin / "tls" / "client.key")
                        if topo.client_auth_required
                        else None,
                    )
                except FabricError as exc:
                    raise NodeFailed(
                        node.name, f"gateway not ready on {channel}: {exc}", node.log
                    ) from exc
                self.say(
                    f"{channel}: submit through {p.host}'s gateway, endorsed by "
                    f"{', '.join(orgs)}, committed in block {block} ({took:.1f}s)"
                )

    # ---- down / status ----------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stops every process this engine started: peers, orderers, chaincode servers."""
        names = [n.name for n in peers(self.nodes)] + [n.name for n in orderers(self.nodes)]
        names += [chaincode_process(c) for c in self.topology.chaincodes]
        stopped = [n for n in names if self.supervisor.stop(n)]
        for n in stopped:
            self.say(f"stopped {n}")
        return stopped

    def status(self) -> dict[str, Any]:
        """Each node (alive, healthy, log), each channel's height per node, each chaincode."""
        nodes: dict[str, Any] = {}
        for n in self.nodes:
            alive = self.supervisor.is_running(n.name)
            healthy, detail = healthz(n.healthz_url) if alive else (False, "not running")
            nodes[n.name] = {
                "kind": n.kind,
                "address": n.address,
                "pid": self.supervisor.pid(n.name),
                "alive": alive,
                "healthy": healthy,
                "log": str(n.log),
            }
            if not healthy:
                nodes[n.name]["detail"] = detail
        servers = {
            name: {
                "address": cc.address,
                "alive": self.supervisor.is_running(chaincode_process(name)),
                "log": str(self.paths.log(chaincode_process(name))),
            }
            for name, cc in self.topology.chaincodes.items()
        }
        channels: dict[str, Any] = {}
        for channel in self.topology.channels:
            heights: dict[str, int | None] = {}
            chaincodes: dict[str, Any] = {}
            for n in orderers(self.nodes):
                heights[n.name] = None
                if nodes[n.name]["healthy"]:
                    try:
                        h = OsnAdmin(self.bins, self.crypto, n).channel_info(channel).get("height")
                        heights[n.name] = int(h) if h is not None else None
                    except FabricError:
                        pass
            for p in self.topology.channel_peers(channel):
                heights[p.host] = None
                if nodes[p.host]["healthy"]:
                    cli = self.peer_cli(self._node(p.host))
                    try:
                        heights[p.host] = cli.height(channel)
                        if not chaincodes:
                            chaincodes = lc.committed(cli, channel)
                    except FabricError:
                        pass
            channels[channel] = {"heights": heights, "chaincodes": chaincodes}
        return {
            "engine": "fabric",
            "nodes": nodes,
            "chaincode_servers": servers,
            "channels": channels,
        }


def _wait_external(name: str, check: Callable[[], bool], what: str, timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise FabricError(
                f"{name}: not {what} after {timeout:.0f}s; is it running? "
                "(docker compose ps / docker compose logs)"
            )
        time.sleep(0.3)
    return time.monotonic() - start


def _healthy(url: str) -> bool:
    return healthz(url)[0]
