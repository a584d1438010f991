"""The `fabric` tier: the sandbox on real Hyperledger Fabric v3.1 binaries.

Every test here is marked `fabric` and skipped, with the reason, unless `peer`, `orderer` and
`osnadmin` are found in $FABRIC_BIN or PATH. The real network is started once per session the way a
user starts it (`cbp network up --engine fabric`), in a temporary CBP_HOME, with every port
shifted by CBP_FABRIC_TEST_PORT_OFFSET (default CBP_TEST_PORT_OFFSET + 350), and stopped at the
end. Embedded sandboxes the tier compares it with run at CBP_TEST_PORT_OFFSET + 250, one module
at a time (`embedded_sandbox`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_sandboxes import FABRIC_OFFSET, FabricNetwork, start_embedded

from network.fabric import BinariesMissing, find_binaries
from network.paths import sandbox_paths
from network.topology import load_topology


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


@pytest.fixture(scope="session")
def fabric_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FabricNetwork]:
    home = tmp_path_factory.mktemp("cbp-fabric-home")
    offset = str(FABRIC_OFFSET)
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


@pytest.fixture(scope="module")
def embedded_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FabricNetwork]:
    net = start_embedded(tmp_path_factory.mktemp("cbp-embedded-home"))
    try:
        yield net
    finally:
        net.cbp("down")
