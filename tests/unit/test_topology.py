"""The topology file loads into the network the design describes, and bad files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from network.topology import DEFAULT_TOPOLOGY, load_topology


def test_topology_default_has_the_designed_network() -> None:
    t = load_topology(port_offset=0)
    assert t.bna.msp_id == "TSOMSP"
    tenants = {k for k, o in t.orgs.items() if o.is_tenant}
    assert {"bsp1", "bsp2", "areti", "evusers"} <= tenants
    assert sum(1 for o in t.orgs.values() if o.role == "BSP") >= 2
    # one private channel per BSP tenant, plus P2P trading
    for bsp in ("bsp1", "bsp2"):
        ch = next(c for c in t.channels.values() if bsp in c.orgs)
        others = {o for o in ch.orgs if t.orgs[o].role == "BSP"}
        assert others == {bsp}
    assert "p2p-trading" in t.channels
    assert len(t.orderers) == 1
    assert all(p.address.startswith("127.0.0.1:") for p in t.peers)


def test_topology_tenant_peers_are_the_hosts() -> None:
    t = load_topology(port_offset=0)
    hosts = {p.org for p in t.channel_peers("bsp1-channel")}
    assert hosts == {"tso", "bsphost", "dsohost"}


def test_topology_raft_three_and_offset_shift_every_port() -> None:
    t = load_topology(raft_nodes=3, port_offset=100)
    assert len(t.orderers) == 3
    base = load_topology(raft_nodes=3, port_offset=0)
    assert [p + 100 for _, p in base.all_ports()] == [p for _, p in t.all_ports()]
    ports = [p for _, p in t.all_ports()]
    assert len(ports) == len(set(ports))


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    mutate(raw)
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_topology_refuses_duplicate_port(tmp_path: Path) -> None:
    def dup(raw: dict) -> None:  # type: ignore[type-arg]
        raw["organizations"]["bsphost"]["peers"][0]["port"] = 7051

    with pytest.raises(ValueError, match="port 7051 used twice"):
        load_topology(_write(tmp_path, dup))


def test_topology_refuses_non_loopback_host(tmp_path: Path) -> None:
    def public(raw: dict) -> None:  # type: ignore[type-arg]
        raw["host"] = "0.0.0.0"

    with pytest.raises(ValueError, match="loopback only"):
        load_topology(_write(tmp_path, public))


def test_topology_refuses_tenant_with_peers(tmp_path: Path) -> None:
    def tenant_peer(raw: dict) -> None:  # type: ignore[type-arg]
        raw["organizations"]["bsp1"]["peers"] = [
            {"name": "peer0", "port": 12051, "chaincode_port": 12052, "operations_port": 12053}
        ]

    with pytest.raises(ValueError, match="a tenant has users only"):
        load_topology(_write(tmp_path, tenant_peer))


def test_topology_refuses_unknown_org_in_channel(tmp_path: Path) -> None:
    def unknown(raw: dict) -> None:  # type: ignore[type-arg]
        raw["channels"]["bsp1-channel"]["orgs"].append("nobody")

    with pytest.raises(ValueError, match="unknown org 'nobody'"):
        load_topology(_write(tmp_path, unknown))


def test_topology_refuses_collection_member_outside_a_channel(tmp_path: Path) -> None:
    def outsider(raw: dict) -> None:  # type: ignore[type-arg]
        raw["chaincodes"]["smoke"]["collections"][0]["policy"] = (
            "OR('TSOMSP.member', 'BSP1MSP.member')"
        )

    with pytest.raises(
        ValueError,
        match="collection tsoPrivate names BSP1MSP, not a member of channel bsp2-channel",
    ):
        load_topology(_write(tmp_path, outsider))


def test_topology_bsp_placeholder_resolves_each_channels_own_bsp() -> None:
    topo = load_topology(DEFAULT_TOPOLOGY)
    policies = {
        ch: topo.chaincode_on("registry", ch).collections[0].policy
        for ch in ("bsp1-channel", "bsp2-channel")
    }
    assert policies == {
        "bsp1-channel": "OR('TSOMSP.member', 'BSPHostMSP.member', 'BSP1MSP.member')",
        "bsp2-channel": "OR('TSOMSP.member', 'BSPHostMSP.member', 'BSP2MSP.member')",
    }
    assert "{bsp}" in topo.chaincodes["registry"].collections[0].policy


def test_topology_bsp_placeholder_needs_one_bsp_on_the_channel(tmp_path: Path) -> None:
    def on_p2p(raw: dict) -> None:  # type: ignore[type-arg]
        raw["chaincodes"]["trading"]["collections"] = [
            {"name": "c", "policy": "OR('{bsp}.member')"}
        ]

    with pytest.raises(ValueError, match="channel p2p-trading has 0 BSP organisations"):
        load_topology(_write(tmp_path, on_p2p))
