"""The `fabric` tier: the sandbox on real Hyperledger Fabric v3.1 binaries.

Every test here is marked `fabric` and skipped, with the reason, unless `peer`, `orderer` and
`osnadmin` are found in $FABRIC_BIN or PATH. The network is started once per session the way a
user starts it (`cbp network up --engine fabric`), in a temporary CBP_HOME, with every port
shifted by CBP_FABRIC_TEST_PORT_OFFSET (default 500), and stopped at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from network.fabric import BinariesMissing, find_binaries
from network.paths import SandboxPaths, sandbox_paths
from network.topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[2]


def _missing_reason() -> str | None:
    try:
        find_binaries()
    except BinariesMissing as exc:
        return f"real Fabric binaries absent: {exc}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = _missing_reason()
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.fabric)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class FabricNetwork:
    topology: Topology
    paths: SandboxPaths
    env: dict[str, str]
    up_output: str

    def cbp(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cbp", "network", *args, "--home", str(self.paths.home)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="session")
def fabric_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FabricNetwork]:
    home = tmp_path_factory.mktemp("cbp-fabric-home")
    offset = os.environ.get("CBP_FABRIC_TEST_PORT_OFFSET", "500")
    env = {**os.environ, "CBP_PORT_OFFSET": offset, "CBP_HOME": str(home)}
    net = FabricNetwork(load_topology(port_offset=int(offset)), sandbox_paths(home), env, "")
    res = net.cbp("up", "--engine", "fabric", timeout=600)
    net.up_output = res.stdout + res.stderr
    try:
        if res.returncode != 0:
            pytest.fail(f"cbp network up --engine fabric failed:\n{net.up_output[-4000:]}")
        yield net
    finally:
        net.cbp("down")
