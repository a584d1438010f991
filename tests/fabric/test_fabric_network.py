"""The whole topology on real Fabric: nodes, channels from the project's genesis blocks,
chaincode through every gateway, `up` twice, and `down` leaving nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

from gateway import from_profile
from network.fabric import FabricEngine
from network.fabric.cli import PeerCLI
from network.fabric.nodes import node_table, orderers
from network.identities import CryptoLayout
from network.processes import pid_alive, port_free


def _engine(net) -> FabricEngine:  # type: ignore[no-untyped-def]
    return FabricEngine(net.topology, net.paths)


def test_fabric_up_starts_every_node_healthy(fabric_network):
    status = _engine(fabric_network).status()
    expected = {o.host for o in fabric_network.topology.orderers}
    expected |= {p.host for p in fabric_network.topology.peers}
    assert set(status["nodes"]) == expected
    for name, node in status["nodes"].items():
        assert node["alive"] and node["healthy"], f"{name}: {node}"
        assert node["address"].startswith("127.0.0.1:")
        assert Path(node["log"]).is_file()
    for name, cc in fabric_network.topology.chaincodes.items():
        assert status["chaincode_servers"][name]["alive"] or not cc.autostart, name


def test_fabric_orderer_joined_each_channel_with_the_project_genesis_block(
    fabric_network, tmp_path
):
    net = fabric_network
    nodes = node_table(net.topology, net.paths)
    crypto = CryptoLayout(net.topology, net.paths.crypto)
    tso = next(n for n in nodes if n.org == "tso")
    cli = PeerCLI(_engine(net).bins, crypto, tso, orderers(nodes)[0])
    for channel in net.topology.channels:
        out = tmp_path / f"{channel}-0.block"
        cli.run(
            "fetch block 0", "channel", "fetch", "0", str(out), "-c", channel, *cli.orderer_flags()
        )
        assert out.read_bytes() == net.paths.genesis_block(channel).read_bytes(), channel


def test_fabric_every_node_of_a_channel_has_the_same_height(fabric_network):
    status = _engine(fabric_network).status()
    for channel, info in status["channels"].items():
        heights = set(info["heights"].values())
        assert len(heights) == 1 and None not in heights, f"{channel}: {info['heights']}"
        assert set(info["chaincodes"]) == set(fabric_network.topology.channel(channel).chaincodes)


def test_fabric_smoke_answers_through_every_peer_org_gateway(fabric_network):
    topo = fabric_network.topology
    profile = fabric_network.paths.connection_profile
    for channel in topo.channels:
        for org in sorted({p.org for p in topo.channel_peers(channel)}):
            with from_profile(org, "User1", profile) as gw:
                contract = gw.get_network(channel).get_contract("smoke")
                key = f"fabric-tier-{org}"
                contract.submit_transaction("Put", key, f"{org} on {channel}")
                assert contract.evaluate_transaction("Get", key) == f"{org} on {channel}".encode()


def test_fabric_tenant_writes_through_its_host_gateway(fabric_network):
    profile = fabric_network.paths.connection_profile
    with from_profile("bsp1", "User1", profile) as gw:
        contract = gw.get_network("bsp1-channel").get_contract("smoke")
        contract.submit_transaction("Put", "fabric-tier-bsp1", "tenant write")
        assert contract.evaluate_transaction("Get", "fabric-tier-bsp1") == b"tenant write"
        who = contract.evaluate_transaction("Whoami")
        assert b"BSP1MSP" in who


def test_fabric_up_twice_is_harmless(fabric_network):
    res = fabric_network.cbp("up", "--engine", "fabric")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _engine(fabric_network).status()["nodes"]


def test_fabric_down_stops_every_process_it_started(fabric_network):
    net = fabric_network
    pids = [int(p.read_text()) for p in net.paths.run.glob("*.pid")]
    assert pids
    res = net.cbp("down")
    assert res.returncode == 0, res.stdout + res.stderr
    assert not any(pid_alive(pid) for pid in pids)
    for name, port in net.topology.all_ports():
        assert port_free(net.topology.host, port), f"{name} still bound to {port}"
    assert not list(net.paths.run.glob("*.pid")), os.listdir(net.paths.run)
    # and up again resumes on the kept ledgers (the session's network serves later modules)
    res = net.cbp("up", "--engine", "fabric", timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
