"""The node table: one row per orderer and peer process, with every path and port it uses.

Config rendering, the supervisor, the CLI wrappers and the compose generator all read these
rows, so a node's files and listeners are decided in this one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..identities import CryptoLayout
from ..paths import SandboxPaths
from ..topology import Topology

NodeKind = Literal["orderer", "peer"]


@dataclass(frozen=True)
class FabricNode:
    kind: NodeKind
    name: str  # host name, e.g. peer0.tso.cbp.local; also the process name
    org: str  # org key in the topology
    msp_id: str
    host: str  # the address every listener binds (loopback)
    port: int
    operations_port: int
    chaincode_port: int | None  # peers
    admin_port: int | None  # orderers: channel participation API
    cluster_port: int | None  # orderers: Raft
    node_dir: Path  # cryptogen node folder holding msp/ and tls/
    config_dir: Path  # FABRIC_CFG_PATH: core.yaml or orderer.yaml
    data_dir: Path
    log: Path
    pidfile: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def msp_dir(self) -> Path:
        return self.node_dir / "msp"

    @property
    def tls_dir(self) -> Path:
        return self.node_dir / "tls"

    @property
    def tls_ca(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def config_file(self) -> Path:
        return self.config_dir / ("orderer.yaml" if self.kind == "orderer" else "core.yaml")

    @property
    def healthz_url(self) -> str:
        return f"http://{self.host}:{self.operations_port}/healthz"

    @property
    def admin_address(self) -> str:
        if self.admin_port is None:
            raise ValueError(f"{self.name} is a peer and has no admin (osnadmin) endpoint")
        return f"{self.host}:{self.admin_port}"

    def listeners(self) -> list[tuple[str, int]]:
        ports = [("port", self.port), ("operations", self.operations_port)]
        for what, p in (
            ("chaincode", self.chaincode_port),
            ("admin", self.admin_port),
            ("cluster", self.cluster_port),
        ):
            if p is not None:
                ports.append((what, p))
        return ports


def fabric_home(paths: SandboxPaths) -> Path:
    """Where this engine keeps node configs and ledgers, inside the sandbox folder."""
    return paths.home / "fabric"


def node_table(topology: Topology, paths: SandboxPaths) -> list[FabricNode]:
    """Orderers first (they must be up before peers can join channels), then peers."""
    crypto = CryptoLayout(topology, paths.crypto)
    home = fabric_home(paths)
    rows: list[FabricNode] = []
    oorg = topology.orderer_org
    for o in topology.orderers:
        rows.append(
            FabricNode(
                kind="orderer",
                name=o.host,
                org=oorg.key,
                msp_id=oorg.msp_id,
                host=topology.host,
                port=o.port,
                operations_port=o.operations_port,
                chaincode_port=None,
                admin_port=o.admin_port,
                cluster_port=o.cluster_port,
                node_dir=crypto.node_dir(oorg.key, o.host),
                config_dir=home / o.host,
                data_dir=home / o.host / "data",
                log=paths.log(o.host),
                pidfile=paths.pidfile(o.host),
            )
        )
    for p in topology.peers:
        rows.append(
            FabricNode(
                kind="peer",
                name=p.host,
                org=p.org,
                msp_id=p.msp_id,
                host=topology.host,
                port=p.port,
                operations_port=p.operations_port,
                chaincode_port=p.chaincode_port,
                admin_port=None,
                cluster_port=None,
                node_dir=crypto.node_dir(p.org, p.host),
                config_dir=home / p.host,
                data_dir=home / p.host / "data",
                log=paths.log(p.host),
                pidfile=paths.pidfile(p.host),
            )
        )
    return rows


def org_peers(nodes: list[FabricNode], org: str) -> list[FabricNode]:
    return [n for n in nodes if n.kind == "peer" and n.org == org]


def orderers(nodes: list[FabricNode]) -> list[FabricNode]:
    return [n for n in nodes if n.kind == "orderer"]


def peers(nodes: list[FabricNode]) -> list[FabricNode]:
    return [n for n in nodes if n.kind == "peer"]
