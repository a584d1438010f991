"""Sandboxes of the `fabric` tier: ports, and starting one the way a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from network.paths import SandboxPaths, sandbox_paths
from network.topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[2]
BASE_OFFSET = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000"))
# Offsets no other tier uses (the list is in tests/conftest.py):
# the real network lives for the whole session, beside the sandbox tier's own sandboxes.
FABRIC_OFFSET = int(os.environ.get("CBP_FABRIC_TEST_PORT_OFFSET", str(BASE_OFFSET + 350)))
EMBEDDED_OFFSET = BASE_OFFSET + 250


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


def start_embedded(home: Path) -> FabricNetwork:
    """An embedded sandbox started as a user starts it (`cbp network up`), for the comparisons
    of this tier; the caller stops it with `net.cbp("down")`."""
    env = {**os.environ, "CBP_PORT_OFFSET": str(EMBEDDED_OFFSET), "CBP_HOME": str(home)}
    net = FabricNetwork(load_topology(port_offset=EMBEDDED_OFFSET), sandbox_paths(home), env, "")
    res = net.cbp("up", timeout=120)
    net.up_output = res.stdout + res.stderr
    if res.returncode != 0:
        net.cbp("down")
        pytest.fail(f"cbp network up (embedded) failed:\n{net.up_output[-4000:]}")
    return net
