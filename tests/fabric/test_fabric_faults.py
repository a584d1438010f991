"""Faults on real Fabric v3.1 (`--raft 3`): the Raft leader of the load's channel killed with
SIGKILL under load, then a host peer (the load's own gateway peer) killed right after a block.
As on the embedded engine (tests/faults): every acknowledged write VALID on every peer of the
channel, the killed peer included once it caught up, none committed twice, limbo counted, and
the sandbox's watchdog brought each killed node back once.

A sandbox of its own (ports shifted by CBP_TEST_PORT_OFFSET + 460, clear of every other
sandbox the test session runs, the tier's real network and its embedded twin included), stopped
at the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import pytest

from cbp.faults.kills import FaultResult, run_fault
from cbp.faults.run import HOST_PEER, raft_leader
from cbp.faults.workloads import workloads
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology

pytestmark = pytest.mark.timeout(900)
log = logging.getLogger("fabric-faults")
OFFSET = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 460


@pytest.fixture(scope="module")
def raft3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("cbp-fabric-faults")
    sb = Sandbox(load_topology(port_offset=OFFSET, raft_nodes=3), sandbox_paths(home), say=log.info)
    sb.up("fabric")
    try:
        yield sb
    finally:
        sb.down()


def _kept_every_promise(result: FaultResult) -> None:
    c = result.counts
    what = f"{result.fault} {result.process} ({result.when})"
    assert c.acknowledged > 0, f"{what}: nothing acknowledged"
    assert c.lost == 0, f"{what}: lost {c.lost_examples}"
    assert c.doubled == 0, f"{what}: doubled {c.doubled_examples}"
    assert result.restarts == 1, f"{what}: restarted {result.restarts} times by the watchdog"
    assert result.recover_seconds is not None


def test_raft_leader_killed_under_load_loses_nothing(raft3: Sandbox) -> None:
    workload = workloads(raft3.topology)["smoke"]
    leader = raft_leader(raft3.topology, workload.channel)
    assert leader is not None, "no orderer reports itself the Raft leader"
    result = asyncio.run(
        run_fault(raft3.paths, workload, leader, fault="raft leader", when="random", concurrency=30)
    )
    _kept_every_promise(result)
    new_leader = raft_leader(raft3.topology, workload.channel)
    assert new_leader is not None


def test_host_peer_killed_after_a_block_loses_nothing(raft3: Sandbox) -> None:
    workload = workloads(raft3.topology)["smoke"]
    result = asyncio.run(
        run_fault(
            raft3.paths, workload, HOST_PEER, fault="host peer", when="after block", concurrency=30
        )
    )
    _kept_every_promise(result)
    assert result.counts.peers == 3  # the restarted peer's chain was read too
