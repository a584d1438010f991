"""The topology's `tls.client_auth_required` reaches every place that must honour it: real
Fabric's core.yaml and orderer.yaml, docker-compose-fabric.yml, the connection profile and the
gateway client's endpoint, and the embedded engine's listeners (the last on a running engine
in tests/faults/test_mtls.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.endpoints import resolve_endpoint
from network import compose
from network.fabric.config import render_node_config
from network.fabric.nodes import node_table
from network.identities import generate_crypto
from network.paths import SandboxPaths
from network.profile import connection_profile
from network.topology import DEFAULT_TOPOLOGY, Topology, load_topology


def _topology(tmp_path: Path, required: bool) -> Topology:
    spec = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    spec["tls"] = {"client_auth_required": required}
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_topology(path, port_offset=0)


def test_mtls_is_off_by_default_as_in_fabric() -> None:
    assert load_topology(port_offset=0).client_auth_required is False


@pytest.mark.parametrize("required", [True, False])
def test_mtls_reaches_fabric_configs_and_compose(tmp_path: Path, required: bool) -> None:
    topo = _topology(tmp_path, required)
    paths = SandboxPaths(tmp_path / "home")
    for node in node_table(topo, paths):
        config = yaml.safe_load(render_node_config(node, topo, paths))
        if node.kind == "peer":
            assert config["peer"]["tls"]["clientAuthRequired"] is required
        else:
            tls = config["General"]["TLS"]
            assert tls["ClientAuthRequired"] is required
            assert tls["ClientRootCAs"] == [f"{node.tls_dir}/ca.crt"]
    services = yaml.safe_load(compose.render_compose(topo))["services"]
    flags = {
        name: svc["environment"].get("CORE_PEER_TLS_CLIENTAUTHREQUIRED")
        or svc["environment"].get("ORDERER_GENERAL_TLS_CLIENTAUTHREQUIRED")
        for name, svc in services.items()
        if name.startswith(("peer", "orderer"))
    }
    assert flags and set(flags.values()) == {"true" if required else "false"}


def test_mtls_profile_tells_clients_to_present_their_tls_certificate(tmp_path: Path) -> None:
    topo = _topology(tmp_path, True)
    layout = generate_crypto(topo, tmp_path / "crypto")
    profile = connection_profile(topo, layout, "embedded")
    assert profile["clientAuthRequired"] is True
    ep = resolve_endpoint(profile, "bsp1", "User1")
    assert ep.mutual_tls
    assert ep.tls_client_certificate is not None and ep.tls_client_certificate.is_file()
    assert ep.tls_client_key is not None and ep.tls_client_key.stat().st_mode & 0o777 == 0o600
