"""One sandbox for the whole test session, on ports of its own.

It is started the way a user starts it (`Sandbox.up`, what `cbp network up` runs), in a
temporary CBP_HOME, with every port shifted by CBP_TEST_PORT_OFFSET (default 1000) so that it
never meets a demo sandbox running on the default ports.

CBP_TEST_ENGINE=fabric runs the same tests against real Fabric v3.1 binaries ($FABRIC_BIN or
PATH); tests of the embedded engine's own internals (test_embedded_*, the CLI tests, which
start embedded sandboxes of their own) are then skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from connectors import Connectors
from pgcluster import ClusterUnavailable, PgCluster

from connector.bootstrap import admit_all
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology

log = logging.getLogger("sandbox-fixture")
ENGINE = os.environ.get("CBP_TEST_ENGINE", "embedded")
EMBEDDED_ONLY = ("test_embedded_", "test_network_cli")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENGINE == "embedded":
        return
    here = Path(__file__).parent
    missing = None
    try:
        from network.fabric import BinariesMissing, find_binaries

        try:
            find_binaries()
        except BinariesMissing as exc:
            missing = f"CBP_TEST_ENGINE=fabric but real Fabric binaries are absent: {exc}"
    except ImportError as exc:  # pragma: no cover
        missing = str(exc)
    for item in items:
        path = Path(str(item.fspath))
        if here not in path.parents:
            continue
        if missing:
            item.add_marker(pytest.mark.skip(reason=missing))
        elif path.name.startswith(EMBEDDED_ONLY):
            item.add_marker(pytest.mark.skip(reason="tests the embedded engine itself"))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("cbp-home")
    offset = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000"))
    topology = load_topology(port_offset=offset)
    sb = Sandbox(topology, sandbox_paths(home), say=log.info)
    sb.up("fabric" if ENGINE == "fabric" else "embedded")
    try:
        yield sb
    finally:
        sb.down()


@pytest.fixture(scope="session")
def profile_path(sandbox: Sandbox) -> str:
    return str(sandbox.paths.connection_profile)


@pytest.fixture(scope="session")
def registry_ready(sandbox: Sandbox) -> None:
    """What `cbp network up` does after starting: the BNA admits every participant."""
    asyncio.run(admit_all(sandbox.paths.connection_profile))


ORGS = ("tso", "areti", "bsp1", "bsp2", "regulator", "infraop", "evusers")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        cluster = PgCluster()
    except ClusterUnavailable as exc:
        pytest.fail(f"the connector must be tested on PostgreSQL too: {exc}")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def connectors(
    request: pytest.FixtureRequest,
    sandbox: Sandbox,
    registry_ready: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Connectors]:
    """One connector per organisation, as real processes, on SQLite and then on PostgreSQL."""
    urls = None
    if request.param == "postgresql":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        urls = {org: cluster.create_database(f"connector_{org}") for org in ORGS}
    running = Connectors(sandbox, tmp_path_factory.mktemp(f"connectors-{request.param}"), urls)
    running.start(*ORGS)
    try:
        yield running
    finally:
        running.stop_all()
