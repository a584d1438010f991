"""One embedded-engine sandbox for the whole test session, on ports of its own.

It is started the way a user starts it (`Sandbox.up`, what `cbp network up` runs), in a
temporary CBP_HOME, with every port shifted by CBP_TEST_PORT_OFFSET (default 1000) so that it
never meets a demo sandbox running on the default ports.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology

log = logging.getLogger("sandbox-fixture")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("cbp-home")
    offset = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000"))
    topology = load_topology(port_offset=offset)
    sb = Sandbox(topology, sandbox_paths(home), say=log.info)
    sb.up("embedded")
    try:
        yield sb
    finally:
        sb.down()


@pytest.fixture(scope="session")
def profile_path(sandbox: Sandbox) -> str:
    return str(sandbox.paths.connection_profile)
