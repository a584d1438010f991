"""docker-compose-fabric.yml matches the topology: every node, the sandbox's ports, pinned
official images, the chaincode servers where connection.json says they are."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from network import compose
from network.identities import CryptoLayout
from network.profile import connection_json
from network.topology import Topology, load_topology


@pytest.fixture(scope="module")
def topo() -> Topology:
    return load_topology(port_offset=0)


@pytest.fixture(scope="module")
def services() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(compose.COMPOSE_FILE.read_text())["services"]


def _ports(svc: dict) -> list[int]:  # type: ignore[type-arg]
    env = svc.get("environment", {})
    out = []
    for key, value in env.items():
        if key.endswith(("LISTENADDRESS", "LISTENPORT")) and key != "ORDERER_GENERAL_LISTENADDRESS":
            out.append(int(str(value).rsplit(":", 1)[-1]))
    if "--address" in svc.get("command", []):
        cmd = svc["command"]
        out.append(int(cmd[cmd.index("--address") + 1].rsplit(":", 1)[1]))
    return out


def test_compose_committed_file_is_generated_from_the_topology(topo):
    assert compose.COMPOSE_FILE.read_text() == compose.render_compose(topo), (
        "docker-compose-fabric.yml is stale: run python -m network.compose"
    )


def test_compose_has_every_node_and_chaincode_server(topo, services):
    expected = {o.host for o in topo.orderers} | {p.host for p in topo.peers}
    expected |= {f"chaincode-{c}" for c, cc in topo.chaincodes.items() if cc.autostart}
    assert expected <= set(services)
    assert set(services) - expected == {"fabric-setup", "connector"}


def test_compose_ports_are_the_sandbox_ports_and_unique(topo, services):
    ports = [p for svc in services.values() for p in _ports(svc)]
    assert len(ports) == len(set(ports))
    test_only = {f"chaincode {c}" for c, cc in topo.chaincodes.items() if not cc.autostart}
    assert sorted(ports) == sorted(p for n, p in topo.all_ports() if n not in test_only)


def test_compose_every_listener_is_on_the_topology_host(topo, services):
    for name, svc in services.items():
        assert svc["network_mode"] == "host", name
        for key, value in svc.get("environment", {}).items():
            if key.endswith("ADDRESS") or key.endswith("ENDPOINT"):
                assert str(value).startswith(topo.host), f"{name} {key}={value}"


def test_compose_pins_the_official_images_at_the_topology_version(topo, services):
    version = topo.spec.fabric_version
    for o in topo.orderers:
        assert services[o.host]["image"] == f"hyperledger/fabric-orderer:{version}"
    for p in topo.peers:
        assert services[p.host]["image"] == f"hyperledger/fabric-peer:{version}"
    assert services["fabric-setup"]["build"]["args"]["FABRIC_VERSION"] == version
    for name, svc in services.items():
        assert not svc.get("image", "").endswith(":latest"), name


def test_compose_msp_ids_and_channels_match_the_topology(topo, services):
    for p in topo.peers:
        svc = services[p.host]
        assert svc["environment"]["CORE_PEER_LOCALMSPID"] == p.msp_id
        assert svc["labels"]["org.cbp.channels"].split(",") == topo.peer_channels(p)
    for o in topo.orderers:
        assert services[o.host]["environment"]["ORDERER_GENERAL_LOCALMSPID"] == "OrdererMSP"
        assert services[o.host]["labels"]["org.cbp.channels"].split(",") == list(topo.channels)


def test_compose_chaincode_addresses_equal_connection_json(topo, services, crypto: CryptoLayout):
    for name in compose.served(topo):
        cmd = services[f"chaincode-{name}"]["command"]
        address = cmd[cmd.index("--address") + 1]
        assert address == connection_json(topo, crypto, name)["address"]
        assert cmd[cmd.index("serve") + 1] == topo.chaincodes[name].contract
        assert compose.package_env(name) in cmd[cmd.index("--chaincode-id") + 1]


def test_compose_node_health_checks_read_the_operations_endpoint(topo, services):
    for p in topo.peers:
        probe = services[p.host]["healthcheck"]["test"][-1]
        assert f"/dev/tcp/127.0.0.1/{p.operations_port}" in probe and "/healthz" in probe


def test_compose_container_configs_use_container_paths_and_same_ports(topo, tmp_path: Path):
    from network.paths import SandboxPaths

    files = compose.write_container_configs(topo, SandboxPaths(tmp_path))
    assert len(files) == len(topo.orderers) + len(topo.peers)
    core = yaml.safe_load((tmp_path / "compose/peer0.tso.cbp.local/core.yaml").read_text())
    assert core["peer"]["listenAddress"] == topo.peer("peer0.tso.cbp.local").address
    assert core["peer"]["mspConfigPath"].startswith("/etc/cbp/crypto/peerOrganizations/")
    assert core["peer"]["fileSystemPath"] == "/var/hyperledger/production"
    assert core["chaincode"]["externalBuilders"][0]["path"] == "/etc/cbp/builders/ccaas"
