from __future__ import annotations

from pathlib import Path

import pytest

from network.identities import CryptoLayout, generate_crypto
from network.topology import Topology, load_topology


@pytest.fixture(scope="session")
def topology() -> Topology:
    return load_topology(port_offset=0)


@pytest.fixture(scope="session")
def crypto(tmp_path_factory: pytest.TempPathFactory, topology: Topology) -> CryptoLayout:
    root: Path = tmp_path_factory.mktemp("crypto")
    return generate_crypto(topology, root)
