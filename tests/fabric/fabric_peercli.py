"""Fabric's own `peer` command against a sandbox's peers, as an org admin runs it.

The CLI reads core.yaml from FABRIC_CFG_PATH; the embedded engine's peers have none, so one is
rendered from the project's template (it only tunes the client). Identity, peer address and TLS
come from the environment the CLI reads (CORE_PEER_*), exactly as Fabric's samples set them.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from network.fabric import find_binaries
from network.fabric.config import write_node_config
from network.fabric.nodes import FabricNode, node_table, orderers
from network.identities import CryptoLayout
from network.paths import SandboxPaths
from network.topology import Topology


@dataclass
class PeerTool:
    topology: Topology
    paths: SandboxPaths
    config_dir: Path

    @classmethod
    def for_sandbox(cls, topology: Topology, paths: SandboxPaths, work: Path) -> PeerTool:
        node = next(n for n in node_table(topology, paths) if n.kind == "peer")
        cfg = replace(node, config_dir=work / "peer-cli", data_dir=work / "peer-cli" / "data")
        write_node_config(cfg, topology, paths)
        return cls(topology, paths, cfg.config_dir)

    @property
    def crypto(self) -> CryptoLayout:
        return CryptoLayout(self.topology, self.paths.crypto)

    @property
    def orderer(self) -> FabricNode:
        return orderers(node_table(self.topology, self.paths))[0]

    def orderer_flags(self) -> list[str]:
        o = self.orderer
        return ["-o", o.address, "--tls", "--cafile", str(o.tls_ca)]

    def peer_flags(self, *targets: tuple[str, str]) -> list[str]:
        """--peerAddresses/--tlsRootCertFiles for (org key, address) pairs."""
        out: list[str] = []
        for org, address in targets:
            out += ["--peerAddresses", address]
            out += ["--tlsRootCertFiles", str(self.crypto.tlsca_cert(org))]
        return out

    def run(
        self,
        org: str,
        address: str,
        *args: str,
        timeout: float = 120,
        logging: str = "WARNING",
        peer_org: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`peer <args>` as `org`'s Admin against the peer at `address`, of `peer_org` (default
        `org`: a tenant names its host); `logging`: Fabric's log level (INFO shows what
        `chaincode invoke --waitForEvent` saw committed)."""
        admin = self.crypto.user_dir(org, "Admin")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CORE_", "FABRIC_"))},
            "FABRIC_CFG_PATH": str(self.config_dir),
            "FABRIC_LOGGING_SPEC": logging,
            "CORE_PEER_LOCALMSPID": self.topology.orgs[org].msp_id,
            "CORE_PEER_MSPCONFIGPATH": str(admin / "msp"),
            "CORE_PEER_ADDRESS": address,
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_ROOTCERT_FILE": str(self.crypto.tlsca_cert(peer_org or org)),
        }
        return subprocess.run(
            [str(find_binaries().peer), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )


_LOG_LINE = re.compile(
    r"^\S*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \S+ \S*\s*\[[^\]]+\] (\S+) -> "
)
_NOISE = ("[grpc]", "grpc:", "[core]", "[transport]", "[pick-first", "SubConn", "Channel #")


def output(res: subprocess.CompletedProcess[str]) -> str:
    """What the CLI said, without Fabric's log prefixes (time, pid, module) and gRPC chatter."""
    lines = []
    for line in (res.stdout + res.stderr).splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        if any(n in line for n in _NOISE):
            continue
        lines.append(_LOG_LINE.sub(r"\1 -> ", line).rstrip())
    return "\n".join(line for line in lines if line)


def without_keys(text: str) -> str:
    """Values that depend on keys or time in any two networks: package hashes, block hashes,
    transaction ids and addresses."""
    text = re.sub(r"([A-Za-z0-9_.+-]+):[0-9a-f]{64}", r"\1:<package hash>", text)
    text = re.sub(r"\b[0-9a-f]{64}\b", "<txid>", text)
    text = re.sub(r'"[A-Za-z0-9+/]{43}="', '"<hash>"', text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    return text
