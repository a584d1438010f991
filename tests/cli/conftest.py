"""The CLI tier: `cbp` as a user types it, in a subprocess, against sandboxes in three states.

- running: a sandbox of its own, started as `cbp network up` starts it, on
  CBP_TEST_PORT_OFFSET + 150;
- stopped: one that was started and stopped (its files are there, nothing listens), on + 450;
- fresh: a folder where no sandbox was ever started.

The running one lives for this tier's one module only; both offsets are ones no other tier
uses (see tests/conftest.py), inside the -40..+465 band, so a CBP_TEST_PORT_OFFSET that suits
the other tiers suits this one too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_places import Place

from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology

BASE = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000"))
log = logging.getLogger("cli-tier")


def _sandbox(home: Path, offset: int) -> Sandbox:
    return Sandbox(load_topology(port_offset=offset), sandbox_paths(home), say=log.info)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    home = tmp_path_factory.mktemp("cli-running")
    sb = _sandbox(home, BASE + 150)
    sb.up("embedded")
    try:
        yield Place("running", home, BASE + 150)
    finally:
        sb.down()


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Place:
    home = tmp_path_factory.mktemp("cli-stopped")
    sb = _sandbox(home, BASE + 450)
    sb.up("embedded")
    sb.down()
    return Place("stopped", home, BASE + 450)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Place:
    return Place("fresh", tmp_path_factory.mktemp("cli-fresh"), BASE + 450)


@pytest.fixture
def place(request: pytest.FixtureRequest) -> Place:
    """The place named by the test's `state` parameter."""
    state: str = request.node.callspec.params["state"]
    found: Place = request.getfixturevalue(state)
    return found
