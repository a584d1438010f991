"""A sandbox folder made before the topology gained an organisation is refused in one line
that says how to start afresh, instead of failing deep inside the identities."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from network.identities import CryptoLayout
from network.paths import sandbox_paths
from network.sandbox import Sandbox, SandboxError
from network.topology import load_topology


def test_a_sandbox_without_a_newer_orgs_identities_is_refused_with_the_way_out(
    tmp_path: Path,
) -> None:
    topology = load_topology()
    sandbox = Sandbox(topology, sandbox_paths(tmp_path))
    sandbox.prepare("embedded")
    newest = list(topology.orgs)[-1]
    shutil.rmtree(CryptoLayout(topology, sandbox.paths.crypto).org_dir(topology.orgs[newest]))

    with pytest.raises(SandboxError) as refused:
        sandbox.prepare("embedded")
    message = str(refused.value)
    assert f"no identities for {newest}" in message
    assert "`cbp network reset`" in message
    assert "\n" not in message
