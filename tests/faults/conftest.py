"""The `faults` tier: processes killed under load, hostile input, the cross-tenant matrix.

Every test here is marked `faults`. They share one private sandbox on the embedded engine,
started as a user starts it (`Sandbox.up`, participants admitted, BSP 1's connector started by
`cbp connector up`'s code so that the watchdog restarts it), in a temporary CBP_HOME with
ports shifted by CBP_TEST_PORT_OFFSET + 25 (clear of the other tiers' sandboxes, their
connectors included; the mutual-TLS one is at + 65). The hostile-input modules run before the kills, whose sandbox then heals itself; the real-Fabric
cases (Raft leader, host peer) are in the `fabric` tier.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultbox import FaultSandbox

from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology

log = logging.getLogger("faults-fixture")
OFFSET = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 25
ORDER = ("test_hostile_wire", "test_hostile_contracts", "test_tenants", "test_logs", "test_kills")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)
            if os.environ.get("CBP_TEST_ENGINE", "embedded") != "embedded":
                item.add_marker(pytest.mark.skip(reason="the faults tier runs the embedded engine"))

    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).stem
        return ORDER.index(name) if name in ORDER else len(ORDER)

    mine = [i for i in items if here in Path(str(i.fspath)).parents]
    if mine:
        first = items.index(mine[0])
        rest = [i for i in items if i not in mine]
        items[:] = rest[:first] + sorted(mine, key=rank) + rest[first:]


@pytest.fixture(scope="session")
def fault_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultSandbox]:
    from cbp.connector_cli import start_connectors
    from connector.bootstrap import admit_all

    home = tmp_path_factory.mktemp("cbp-faults")
    topology = load_topology(port_offset=OFFSET)
    sb = Sandbox(topology, sandbox_paths(home), say=log.info)
    sb.up("embedded")
    try:
        asyncio.run(admit_all(sb.paths.connection_profile))
        port = topology.orgs["bsp1"].connector_port
        assert port is not None
        start_connectors(sb.paths, {"bsp1": port}, log.info)
        yield FaultSandbox(sb)
    finally:
        sb.down()
