"""Renders each node's core.yaml / orderer.yaml from the project's templates.

The templates live in `network/templates/` and use `${name}` placeholders; a placeholder the
renderer does not fill is an error, so a template and this module cannot drift apart silently.
"""

from __future__ import annotations

import logging
from pathlib import Path
from string import Template

from network import yamlio

from ..identities import CryptoLayout
from ..paths import SandboxPaths
from ..topology import Topology
from .nodes import FabricNode

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BUILDERS = Path(__file__).resolve().parent.parent / "builders"
CCAAS_BUILDER = BUILDERS / "ccaas"


def _render(template: str, values: dict[str, str], what: str) -> str:
    try:
        text = Template((TEMPLATES / template).read_text()).substitute(values)
    except KeyError as exc:
        raise ValueError(
            f"template {template}: placeholder {exc} has no value for {what}"
        ) from None
    yamlio.safe_load(text)  # a broken render fails here, not inside the Fabric process
    return text


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def peer_values(
    node: FabricNode,
    topology: Topology,
    builder_dir: Path = CCAAS_BUILDER,
    *,
    pvt_pull_retry: str = "60s",
) -> dict[str, str]:
    if node.chaincode_port is None:
        raise ValueError(f"{node.name} is not a peer")
    return {
        "peer_id": node.name,
        "network_id": topology.name,
        "host": node.host,
        "listen_address": node.address,
        "address": node.address,
        "chaincode_listen_address": f"{node.host}:{node.chaincode_port}",
        "chaincode_address": f"{node.host}:{node.chaincode_port}",
        "operations_address": f"{node.host}:{node.operations_port}",
        "tls_dir": str(node.tls_dir),
        "msp_dir": str(node.msp_dir),
        "msp_id": node.msp_id,
        "data_dir": str(node.data_dir),
        "builder_dir": str(builder_dir),
        "fabric_minor": _minor(topology.spec.fabric_version),
        "pvt_pull_retry": pvt_pull_retry,
        "client_auth_required": _yaml_bool(topology.client_auth_required),
    }


def _yaml_bool(value: bool) -> str:
    return "true" if value else "false"


def orderer_values(node: FabricNode, crypto: CryptoLayout) -> dict[str, str]:
    if node.admin_port is None or node.cluster_port is None:
        raise ValueError(f"{node.name} is not an orderer")
    return {
        "host": node.host,
        "port": str(node.port),
        "cluster_port": str(node.cluster_port),
        "operations_address": f"{node.host}:{node.operations_port}",
        "admin_address": node.admin_address,
        # osnadmin clients are the orderer org's admins, with certs from its TLS CA
        "admin_client_ca": str(crypto.tlsca_cert(node.org)),
        "tls_dir": str(node.tls_dir),
        "msp_dir": str(node.msp_dir),
        "msp_id": node.msp_id,
        "data_dir": str(node.data_dir),
        "client_auth_required": _yaml_bool(crypto.topology.client_auth_required),
    }


def render_node_config(
    node: FabricNode,
    topology: Topology,
    paths: SandboxPaths,
    builder_dir: Path = CCAAS_BUILDER,
    *,
    pvt_pull_retry: str = "60s",
) -> str:
    """The node's config; `paths` and `builder_dir` as the node process will see them (the
    compose generator renders the same templates with the containers' paths)."""
    if node.kind == "peer":
        values = peer_values(node, topology, builder_dir, pvt_pull_retry=pvt_pull_retry)
        return _render("core.yaml.tmpl", values, node.name)
    crypto = CryptoLayout(topology, paths.crypto)
    return _render("orderer.yaml.tmpl", orderer_values(node, crypto), node.name)


def write_node_config(
    node: FabricNode, topology: Topology, paths: SandboxPaths, *, pvt_pull_retry: str = "60s"
) -> Path:
    """Writes the node's config file (always afresh, so a topology change takes effect)."""
    node.config_dir.mkdir(parents=True, exist_ok=True)
    node.data_dir.mkdir(parents=True, exist_ok=True)
    node.config_file.write_text(
        render_node_config(node, topology, paths, pvt_pull_retry=pvt_pull_retry)
    )
    log.debug("wrote %s", node.config_file)
    return node.config_file
