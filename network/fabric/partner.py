"""A partner's own real Fabric peer in the sandbox: `cbp network add-peer ORG`.

As an org that brings its own peer to a running network: the org's CAs issue the peer's
identity and TLS certificate; its core.yaml is rendered from the same template as every Fabric
peer here; `peer node start` runs under the sandbox's supervisor (so `status` lists it and
`down` stops it); the peer fetches each of its org's channels' genesis block from the ordering
service, joins them and pulls every block; then it installs the same chaincode-as-a-service
packages the network runs, so it endorses with the same chaincode servers. It works beside
either engine: that the embedded engine's channels can be followed by a real peer is the
point of it.

Added peers are `peer<N>.<org domain>` with the ports of the org's first peer plus 10 x N, and
are recorded in `<CBP_HOME>/partners/peers.json`. `down` stops them with everything else; after
the next `up`, `add-peer ORG` starts the org's recorded peer again on its own ledgers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..identities import CryptoLayout
from ..paths import SandboxPaths
from ..processes import Supervisor, port_free
from ..topology import Topology
from . import lifecycle as lc
from .binaries import FabricBinaries, find_binaries
from .cli import PeerCLI
from .config import write_node_config
from .errors import FabricError, PortInUse
from .health import wait_healthy
from .nodes import FabricNode, node_table, orderers

log = logging.getLogger(__name__)

Say = Callable[[str], None]
PORT_STEP = 10
# Without gossip from the embedded peers a partner's peer would wait this long for private
# data it can never get on every block that carries some (Fabric's default is 60s).
PVT_PULL_RETRY = "1s"


@dataclass(frozen=True)
class PartnerPeer:
    org: str
    index: int
    host: str
    port: int
    chaincode_port: int
    operations_port: int


def partners_dir(paths: SandboxPaths) -> Path:
    return paths.home / "partners"


def load_partners(paths: SandboxPaths) -> list[PartnerPeer]:
    f = partners_dir(paths) / "peers.json"
    if not f.exists():
        return []
    return [PartnerPeer(**row) for row in json.loads(f.read_text())]


def _save(paths: SandboxPaths, peers: list[PartnerPeer]) -> None:
    d = partners_dir(paths)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / "peers.json.tmp"
    tmp.write_text(json.dumps([asdict(p) for p in peers], indent=2))
    tmp.replace(d / "peers.json")


def plan(topology: Topology, paths: SandboxPaths, org: str) -> PartnerPeer:
    """The next peer of `org`: `peer<N>` after the topology's and the partners' peers."""
    if org not in topology.orgs:
        known = ", ".join(k for k, o in topology.orgs.items() if o.kind == "peer")
        raise FabricError(f"no org {org!r} in the topology; orgs: {known}")
    first = next((p for p in topology.peers if p.org == org), None)
    if first is None:
        raise FabricError(
            f"org {org} runs no peer in the topology (a tenant is served by its host's peer), "
            "so there is no port plan for one; add-peer is for orgs with peers"
        )
    taken = {p.host for p in topology.peers} | {p.host for p in load_partners(paths)}
    domain = topology.orgs[org].domain
    n = 1
    while f"peer{n}.{domain}" in taken:
        n += 1
    step = PORT_STEP * n
    return PartnerPeer(
        org=org,
        index=n,
        host=f"peer{n}.{domain}",
        port=first.port + step,
        chaincode_port=first.chaincode_port + step,
        operations_port=first.operations_port + step,
    )


def partner_node(topology: Topology, paths: SandboxPaths, p: PartnerPeer) -> FabricNode:
    crypto = CryptoLayout(topology, paths.crypto)
    home = partners_dir(paths) / p.host
    return FabricNode(
        kind="peer",
        name=p.host,
        org=p.org,
        msp_id=topology.orgs[p.org].msp_id,
        host=topology.host,
        port=p.port,
        operations_port=p.operations_port,
        chaincode_port=p.chaincode_port,
        admin_port=None,
        cluster_port=None,
        node_dir=crypto.node_dir(p.org, p.host),
        config_dir=home,
        data_dir=home / "data",
        log=paths.log(p.host),
        pidfile=paths.pidfile(p.host),
    )


def partner_nodes(topology: Topology, paths: SandboxPaths) -> list[FabricNode]:
    return [partner_node(topology, paths, p) for p in load_partners(paths)]


def org_channels(topology: Topology, org: str) -> list[str]:
    return [name for name, ch in topology.channels.items() if org in ch.orgs]


class PartnerPeers:
    """Adds real Fabric peers to a running sandbox (either engine)."""

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
        self.bins = binaries or find_binaries()
        self.supervisor = Supervisor(paths)
        self.crypto = CryptoLayout(topology, paths.crypto)

    def _cli(self, node: FabricNode, config_dir: Path | None = None) -> PeerCLI:
        orderer = orderers(node_table(self.topology, self.paths))[0]
        return PeerCLI(
            self.bins, self.crypto, node, orderer, on_wait=self._waiting, config_dir=config_dir
        )

    def _waiting(self, note: str) -> None:
        self.say(f"  waiting: {note}")

    def add(self, org: str, timeout: float = 180.0) -> PartnerPeer:
        """Start the org's recorded partner peer that is not running (after a `down`), or a
        new one; join what it has not joined, install what it lacks, follow every channel."""
        t0 = time.monotonic()
        stopped = [
            p
            for p in load_partners(self.paths)
            if p.org == org and not self.supervisor.is_running(p.host)
        ]
        p = stopped[0] if stopped else plan(self.topology, self.paths, org)
        node = partner_node(self.topology, self.paths, p)
        for what, port in node.listeners():
            if not port_free(node.host, port):
                raise PortInUse(f"{node.name} ({what})", port, node.log)
        if not stopped:
            self.crypto.issue_peer(org, p.host)
            self.say(
                f"{p.host}: identity and TLS certificate issued by the {org} CAs "
                f"({self.crypto.node_dir(org, p.host)})"
            )
            _save(self.paths, [*load_partners(self.paths), p])
        write_node_config(node, self.topology, self.paths, pvt_pull_retry=PVT_PULL_RETRY)
        self.supervisor.start(
            node.name,
            [str(self.bins.peer), "node", "start"],
            env={"FABRIC_CFG_PATH": str(node.config_dir), "FABRIC_LOGGING_SPEC": "info"},
        )
        again = " again, with its ledgers" if stopped else ""
        self.say(f"{p.host} starting{again} on {node.address} (log {node.log})")
        took = wait_healthy(node, self.supervisor)
        self.say(f"{p.host} healthy after {took:.1f}s")
        cli = self._cli(node)
        blocks = partners_dir(self.paths) / p.host / "blocks"
        blocks.mkdir(parents=True, exist_ok=True)
        channels = org_channels(self.topology, org)
        joined = set(cli.channels())
        for ch in channels:
            if ch in joined:
                continue
            genesis = blocks / f"{ch}.block"
            cli.run(
                f"peer channel fetch 0 {ch}",
                "channel", "fetch", "0", str(genesis), "-c", ch, *cli.orderer_flags(),
            )  # fmt: skip
            cli.run(f"peer channel join {ch}", "channel", "join", "-b", str(genesis), timeout=120)
            self.say(f"{p.host} joined {ch} from the ordering service's block 0")
        self._install(cli, channels)
        for ch in channels:
            height = self._follow(cli, ch, timeout)
            self.say(f"{p.host} caught up with {ch}: height {height}")
        self.say(f"{p.host} ready in {time.monotonic() - t0:.1f}s")
        return p

    def _install(self, cli: PeerCLI, channels: list[str]) -> None:
        names = sorted({cc for ch in channels for cc in self.topology.channel(ch).chaincodes})
        out = partners_dir(self.paths) / "packages"
        for name in names:
            pkg = lc.write_package(self.topology, self.paths, name, out)
            if lc.install(cli, pkg):
                self.say(f"{cli.node.name}: installed {name} as {pkg.package_id}")

    def _follow(self, cli: PeerCLI, channel: str, timeout: float) -> int:
        """Wait until the peer holds every block the network's own peers hold."""
        reference = next(p for p in self.topology.channel_peers(channel))
        ref_node = next(
            n for n in node_table(self.topology, self.paths) if n.name == reference.host
        )
        # the CLI reads the partner's core.yaml: the embedded engine's peers have none
        target = self._cli(ref_node, config_dir=cli.node.config_dir).height(channel)
        deadline = time.monotonic() + timeout
        height = 0
        while time.monotonic() < deadline:
            height = cli.height(channel)
            if height >= target:
                return height
            time.sleep(0.5)
        raise FabricError(
            f"{cli.node.name} reached height {height} of {target} on {channel} in "
            f"{timeout:.0f}s; read {cli.node.log}"
        )
