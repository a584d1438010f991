"""Faults on real Fabric v3.1 (`--raft 3`, mutual TLS on): the Raft leader of the load's channel
killed with SIGKILL under load, then a host peer (the load's own gateway peer) killed right
after a block. As on the embedded engine (tests/faults): every acknowledged write VALID on every
peer of the channel, the killed peer included once it caught up, none committed twice, limbo
counted, and the sandbox's watchdog brought each killed node back once.

The sandbox runs with the topology's `tls.client_auth_required`, so the same network shows the
option honoured by real Fabric: `up` itself (peer CLI, orderer flags, readiness probe) and every
client present their TLS certificates, and a client without one is refused by peer and orderer.

A sandbox of its own (ports shifted by CBP_TEST_PORT_OFFSET + 465, clear of every other
sandbox the test session runs, the tier's real network and its embedded twin included), stopped
at the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import grpc
import pytest
import yaml
from fabric_protos.orderer import ab_pb2_grpc

from cbp.faults import messages
from cbp.faults.kills import FaultResult, run_fault
from cbp.faults.run import HOST_PEER, raft_leader
from cbp.faults.wire import endpoints, profile_signer
from cbp.faults.workloads import workloads
from gateway import GatewayError, from_profile
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import DEFAULT_TOPOLOGY, load_topology

pytestmark = pytest.mark.timeout(900)
log = logging.getLogger("fabric-faults")
OFFSET = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 465


@pytest.fixture(scope="module")
def raft3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("cbp-fabric-faults")
    spec = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    spec["tls"] = {"client_auth_required": True}
    topology_file = home / "topology.yaml"
    topology_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    topology = load_topology(topology_file, port_offset=OFFSET, raft_nodes=3)
    sb = Sandbox(topology, sandbox_paths(home / "sandbox"), say=log.info)
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


def test_real_fabric_requires_a_client_certificate_with_mutual_tls(raft3: Sandbox) -> None:
    profile = raft3.paths.connection_profile
    with from_profile("bsp1", "User1", profile) as gw:
        assert gw.get_network("bsp1-channel").get_chain_info().height > 1
    with pytest.raises(GatewayError) as refused:
        with from_profile("bsp1", "User1", profile, mutual_tls=False) as gw:
            gw.get_network("bsp1-channel").get_chain_info()
    assert refused.value.code == "UNAVAILABLE"
    ep = endpoints(profile)["orderer"]
    signer = profile_signer(profile)

    async def deliver_without_certificate() -> str:
        creds = grpc.ssl_channel_credentials(ep.tls_ca)
        options = [("grpc.ssl_target_name_override", ep.hostname)]
        async with grpc.aio.secure_channel(ep.address, creds, options=options) as ch:
            env = messages.deliver_envelope(signer, "bsp1-channel")
            try:
                async for _ in ab_pb2_grpc.AtomicBroadcastStub(ch).Deliver(iter([env]), timeout=10):
                    return "served"
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
        return "ended"

    assert asyncio.run(deliver_without_certificate()) == "UNAVAILABLE"
