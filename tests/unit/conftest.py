"""Fixtures shared by the unit tests: the sandbox topology and identities, and for the
embedded engine's tests a chain of channel material and a socket-less network of peers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_fixtures import Chain
from embedded_peer_fixtures import PeerNet, build_net, close_nets

from network.identities import CryptoLayout, generate_crypto
from network.topology import Topology, load_topology


@pytest.fixture(scope="session")
def topology() -> Topology:
    return load_topology(port_offset=0)


@pytest.fixture(scope="session")
def crypto(tmp_path_factory: pytest.TempPathFactory, topology: Topology) -> CryptoLayout:
    root: Path = tmp_path_factory.mktemp("crypto")
    return generate_crypto(topology, root)


@pytest.fixture(scope="module")
def chain(topology: Topology, crypto: CryptoLayout) -> Chain:
    return Chain(topology, crypto)


@pytest.fixture
def net(chain: Chain, tmp_path: Path) -> PeerNet:
    """Three peers (TSO and the two hosts) on real ledgers, the smoke chaincode defined."""
    return build_net(chain, tmp_path / "peers")


@pytest.fixture(autouse=True)
def _close_nets() -> Iterator[None]:
    """Every net a test built has its ledgers closed when the test ends."""
    yield
    close_nets()
