"""The fabric engine's files, without running Fabric: rendered node configs, the node table,
ccaas packages, the external builder scripts, binary lookup and osnadmin's verdicts."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from network.fabric import (
    BinariesMissing,
    FabricEngine,
    MaterialMissing,
    NodeFailed,
    PortInUse,
    find_binaries,
)
from network.fabric import cli as fabric_cli
from network.fabric import lifecycle as lc
from network.fabric.config import CCAAS_BUILDER, render_node_config
from network.fabric.errors import FabricError
from network.fabric.nodes import node_table, orderers, peers
from network.paths import SandboxPaths
from network.topology import Chaincode, CollectionSpec, Topology, load_topology

OFFSET = 500


@pytest.fixture()
def topo() -> Topology:
    return load_topology(port_offset=OFFSET)


@pytest.fixture()
def paths(tmp_path: Path) -> SandboxPaths:
    return SandboxPaths(tmp_path / "sandbox")


def _configs(topo: Topology, paths: SandboxPaths) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        n.name: yaml.safe_load(render_node_config(n, topo, paths)) for n in node_table(topo, paths)
    }


def test_node_table_has_every_orderer_and_peer_with_topology_ports(topo, paths):
    nodes = node_table(topo, paths)
    assert [n.name for n in orderers(nodes)] == [o.host for o in topo.orderers]
    assert [n.name for n in peers(nodes)] == [p.host for p in topo.peers]
    tso = next(n for n in nodes if n.name == "peer0.tso.cbp.local")
    assert (tso.port, tso.chaincode_port, tso.operations_port) == (7551, 7555, 9944)
    assert tso.log == paths.log("peer0.tso.cbp.local")
    assert (
        tso.msp_dir
        == paths.crypto / "peerOrganizations/tso.cbp.local/peers/peer0.tso.cbp.local/msp"
    )


def test_fabric_config_renders_every_peer_on_loopback_with_external_builder(topo, paths):
    configs = _configs(topo, paths)
    for p in topo.peers:
        core = configs[p.host]
        assert core["peer"]["listenAddress"] == p.address
        assert core["peer"]["address"] == p.address
        assert core["peer"]["gossip"]["externalEndpoint"] == p.address
        assert core["peer"]["chaincodeListenAddress"] == f"127.0.0.1:{p.chaincode_port}"
        assert core["operations"]["listenAddress"] == f"127.0.0.1:{p.operations_port}"
        assert core["peer"]["localMspId"] == p.msp_id
        assert core["peer"]["tls"]["enabled"] is True
        # native peers never use Docker; without builders a peer with no Docker endpoint panics
        assert core["vm"]["endpoint"] is None
        builders = core["chaincode"]["externalBuilders"]
        assert builders[0]["path"] == str(CCAAS_BUILDER)
        assert core["peer"]["gossip"]["reconnectInterval"] == "2s"


def test_fabric_config_renders_orderers_for_channel_participation(topo, paths):
    configs = _configs(topo, paths)
    for o in topo.orderers:
        cfg = configs[o.host]
        assert (cfg["General"]["ListenAddress"], cfg["General"]["ListenPort"]) == (
            "127.0.0.1",
            o.port,
        )
        assert cfg["General"]["Cluster"]["ListenPort"] == o.cluster_port
        assert cfg["General"]["BootstrapMethod"] == "none"
        assert cfg["ChannelParticipation"]["Enabled"] is True
        assert cfg["Admin"]["ListenAddress"] == f"127.0.0.1:{o.admin_port}"
        assert cfg["Admin"]["TLS"]["ClientAuthRequired"] is True
        assert cfg["Admin"]["TLS"]["ClientRootCAs"] == [
            str(
                paths.crypto
                / "ordererOrganizations/orderer.cbp.local/tlsca/tlsca.orderer.cbp.local-cert.pem"
            )
        ]
        assert cfg["Operations"]["ListenAddress"] == f"127.0.0.1:{o.operations_port}"


def test_fabric_config_listeners_are_the_topology_ports_and_unique(topo, paths):
    text = "\n".join(render_node_config(n, topo, paths) for n in node_table(topo, paths))
    assert "${" not in text
    nodes = node_table(topo, paths)
    ports = [p for n in nodes for _, p in n.listeners()]
    assert len(ports) == len(set(ports))
    expected = {p for name, p in topo.all_ports() if not name.startswith("chaincode ")}
    assert set(ports) == expected


def test_fabric_config_three_raft_nodes_render_three_orderers(paths):
    topo3 = load_topology(raft_nodes=3, port_offset=OFFSET)
    names = [n.name for n in orderers(node_table(topo3, paths))]
    assert names == [f"orderer{i}.orderer.cbp.local" for i in range(3)]


# ---- ccaas packages ----------------------------------------------------------------------------


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_ccaas_package_is_reproducible_and_fabric_shaped():
    conn = json.dumps({"address": "127.0.0.1:9999", "tls_required": True}).encode()
    a = lc.build_package(conn, "smoke_1.0")
    assert a == lc.build_package(conn, "smoke_1.0")
    outer = _members(a)
    assert set(outer) == {"metadata.json", "code.tar.gz"}
    assert json.loads(outer["metadata.json"]) == {"type": "ccaas", "label": "smoke_1.0"}
    assert _members(outer["code.tar.gz"]) == {"connection.json": conn}
    pid = lc.package_id("smoke_1.0", a)
    assert pid.startswith("smoke_1.0:") and len(pid.split(":")[1]) == 64
    assert lc.package_id("smoke_1.0", lc.build_package(conn + b" ", "smoke_1.0")) != pid


def test_ccaas_package_without_connection_json_names_the_file(topo, paths):
    with pytest.raises(MaterialMissing, match="connection.json"):
        lc.write_package(topo, paths, "smoke", paths.home / "pkg")


def test_collections_naming_an_org_outside_the_channel_are_refused():
    coll = CollectionSpec(name="p", policy="OR('TSOMSP.member', 'BSP1MSP.member')")
    cc = Chaincode("smoke", "m:C", "127.0.0.1:1", 1, "OR('TSOMSP.peer')", "1.0", 1, (coll,))
    lc.check_collections(cc, "bsp1-channel", {"TSOMSP", "BSP1MSP"})
    with pytest.raises(FabricError, match="BSP1MSP, not members of bsp2-channel"):
        lc.check_collections(cc, "bsp2-channel", {"TSOMSP", "BSP2MSP"})


def test_collections_config_uses_fabric_field_names():
    coll = CollectionSpec(name="p", policy="OR('TSOMSP.member')", max_peer_count=2)
    cc = Chaincode("smoke", "m:C", "127.0.0.1:1", 1, "OR('TSOMSP.peer')", "1.0", 1, (coll,))
    assert lc.collections_config(cc) == [
        {
            "name": "p",
            "policy": "OR('TSOMSP.member')",
            "requiredPeerCount": 0,
            "maxPeerCount": 2,
            "blockToLive": 0,
            "memberOnlyRead": True,
            "memberOnlyWrite": False,
        }
    ]


# ---- external builder scripts -------------------------------------------------------------------


def _builder(step: str, *args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CCAAS_BUILDER / "bin" / step), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _package_dirs(tmp_path: Path, kind: str = "ccaas") -> tuple[Path, Path]:
    src, meta = tmp_path / "src", tmp_path / "meta"
    src.mkdir()
    meta.mkdir()
    (meta / "metadata.json").write_text(json.dumps({"label": "smoke_1.0", "type": kind}, indent=2))
    (src / "connection.json").write_text('{"address": "127.0.0.1:9997"}')
    return src, meta


def test_builder_detect_claims_only_ccaas_packages(tmp_path):
    src, meta = _package_dirs(tmp_path)
    assert _builder("detect", src, meta).returncode == 0
    (meta / "metadata.json").write_text('{"type": "golang", "label": "x"}')
    assert _builder("detect", src, meta).returncode != 0


def test_builder_build_and_release_put_connection_json_where_the_peer_reads_it(tmp_path):
    src, meta = _package_dirs(tmp_path)
    (src / "META-INF/statedb/couchdb/indexes").mkdir(parents=True)
    (src / "META-INF/statedb/couchdb/indexes/i.json").write_text("{}")
    out, rel = tmp_path / "out", tmp_path / "rel"
    out.mkdir()
    rel.mkdir()
    assert _builder("build", src, meta, out).returncode == 0
    assert _builder("release", out, rel).returncode == 0
    assert (rel / "chaincode/server/connection.json").read_text() == '{"address": "127.0.0.1:9997"}'
    assert (rel / "statedb/couchdb/indexes/i.json").exists()


def test_builder_build_without_connection_json_says_so(tmp_path):
    src, meta = _package_dirs(tmp_path)
    (src / "connection.json").unlink()
    res = _builder("build", src, meta, tmp_path / "out")
    assert res.returncode != 0 and "no connection.json" in res.stderr


# ---- binaries, CLI verdicts -----------------------------------------------------------------------


def _fake_bins(d: Path, names: tuple[str, ...] = ("peer", "orderer", "osnadmin")) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for n in names:
        f = d / n
        f.write_text("#!/bin/sh\necho fake\n")
        f.chmod(0o755)
    return d


def test_binaries_missing_names_each_and_what_to_install(tmp_path):
    with pytest.raises(BinariesMissing) as err:
        find_binaries(
            {"PATH": str(tmp_path), "FABRIC_BIN": str(_fake_bins(tmp_path / "b", ("peer",)))}
        )
    msg = str(err.value)
    assert "orderer, osnadmin not found" in msg and "FABRIC_BIN" in msg and "v3.1" in msg


def test_binaries_fabric_bin_wins_over_path(tmp_path):
    first = _fake_bins(tmp_path / "first")
    second = _fake_bins(tmp_path / "second")
    bins = find_binaries({"FABRIC_BIN": str(first), "PATH": str(second)})
    assert bins.peer == first / "peer" and bins.osnadmin == first / "osnadmin"
    assert find_binaries({"PATH": str(second)}).orderer == second / "orderer"


def test_engine_up_without_binaries_fails_before_starting_anything(topo, paths, monkeypatch):
    monkeypatch.delenv("FABRIC_BIN", raising=False)
    monkeypatch.setenv("PATH", str(paths.home))
    with pytest.raises(BinariesMissing, match="peer, orderer, osnadmin not found"):
        FabricEngine(topo, paths).up()
    assert not paths.run.exists()


def test_engine_up_without_identities_names_what_is_missing(topo, paths, tmp_path, monkeypatch):
    monkeypatch.setenv("FABRIC_BIN", str(_fake_bins(tmp_path / "bin")))
    with pytest.raises(MaterialMissing, match="bsp1-channel.block"):
        FabricEngine(topo, paths).up()
    assert not paths.run.exists()


def test_osnadmin_verdict_is_its_status_line_not_its_exit_code():
    out = 'Status: 405\n{"error": "cannot join: channel already exists"}\n'
    assert fabric_cli._status(out) == 405
    assert fabric_cli._body(out) == {"error": "cannot join: channel already exists"}
    assert fabric_cli._status("Error: connection refused") == 0


# ---- failures at start, reported with the node and its log -----------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Topology, SandboxPaths]:
    from network.sandbox import Sandbox

    # ports far from any sandbox a developer runs; nothing here listens on them for long
    topo = load_topology(port_offset=13000)
    paths = SandboxPaths(tmp_path_factory.mktemp("prepared"))
    Sandbox(topo, paths).prepare("fabric")
    return topo, paths


def _dying_bins(d: Path) -> Path:
    _fake_bins(d)
    (d / "orderer").write_text("#!/bin/sh\necho 'panic: cannot load orderer.yaml' >&2\nexit 2\n")
    return d


def test_engine_node_that_dies_at_start_is_named_with_its_log(prepared, tmp_path, monkeypatch):
    topo, paths = prepared
    monkeypatch.setenv("FABRIC_BIN", str(_dying_bins(tmp_path / "bin")))
    engine = FabricEngine(topo, paths)
    with pytest.raises(NodeFailed) as err:
        engine.up()
    orderer = topo.orderers[0].host
    assert err.value.node == orderer
    assert err.value.log == paths.log(orderer)
    assert "exited while starting" in str(err.value)
    assert "panic: cannot load orderer.yaml" in str(err.value)
    assert not engine.supervisor.running()


def test_engine_taken_port_is_named_with_the_node(prepared, tmp_path, monkeypatch):
    topo, paths = prepared
    monkeypatch.setenv("FABRIC_BIN", str(_fake_bins(tmp_path / "bin")))
    node = topo.orderers[0]
    with socket.socket() as s:
        s.bind((topo.host, node.admin_port))
        s.listen()
        with pytest.raises(PortInUse) as err:
            FabricEngine(topo, paths).up()
    assert err.value.port == node.admin_port
    assert err.value.node == f"{node.host} (admin)"
    assert "CBP_PORT_OFFSET" in str(err.value)
