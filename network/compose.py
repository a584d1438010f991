"""`docker-compose-fabric.yml`: the same topology on the official Fabric images.

`python -m network.compose` regenerates the committed compose file from the topology;
`python -m network.compose prepare` writes what the containers mount: the project's
identities, genesis blocks, connection.json and each chaincode's config.json (the sandbox's
own `prepare`), each node's
core.yaml / orderer.yaml rendered from the same templates as the native engine but with the
containers' paths, and an env file with the chaincode package ids.

Every container uses the host's network: the project's genesis blocks name orderer endpoints,
Raft consenters and anchor peers at the topology's loopback address, exactly as the native
engine runs them, so ports, MSP ids, channels, blocks and connection.json are the same files.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from network import yamlio
from network.fabric import lifecycle as lc
from network.fabric.config import render_node_config
from network.fabric.nodes import FabricNode, node_table
from network.paths import SandboxPaths, sandbox_paths
from network.topology import Topology, load_topology

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose-fabric.yml"

HOME = "${CBP_HOME:-./.sandbox}"
IN_CONTAINER = SandboxPaths(Path("/etc/cbp"))  # crypto at /etc/cbp/crypto, as mounted below
CONFIG_DIR = "/etc/cbp/config"
LEDGER_DIR = "/var/hyperledger/production"
BUILDER_DIR = Path("/etc/cbp/builders/ccaas")
CHAINCODE_CONFIG = "/etc/cbp/chaincode-config.json"  # each chaincode container mounts its own
ENV_FILE = "compose/compose.env"

HEADER = """\
# GENERATED from network/topology.yaml by `python -m network.compose`; do not edit by hand.
# Real Hyperledger Fabric on the official images, one container per node, host networking
# (every listener on the topology's loopback address, the same ports as the native sandbox).
# Run it as network/fabric/README.md says:
#   python -m network.compose prepare
#   docker compose --env-file .sandbox/compose/compose.env -f docker-compose-fabric.yml up -d
"""


def package_env(name: str) -> str:
    return f"CBP_PACKAGE_ID_{name.upper().replace('-', '_')}"


def container_nodes(topology: Topology) -> list[FabricNode]:
    """The node table as the containers see it."""
    return [
        dataclasses.replace(n, config_dir=Path(CONFIG_DIR), data_dir=Path(LEDGER_DIR))
        for n in node_table(topology, IN_CONTAINER)
    ]


def _healthcheck_http(port: int) -> dict[str, Any]:
    # the Fabric images have bash but neither curl nor wget
    probe = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        "printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '\"status\":\"OK\"' <&3"
    )
    return {
        "test": ["CMD", "bash", "-c", probe],
        "interval": "5s",
        "timeout": "3s",
        "retries": 20,
        "start_period": "5s",
    }


def _flag(value: bool) -> str:
    # the topology's `tls.client_auth_required`, stated in the file itself as well as in the
    # rendered configs so that a reader of docker-compose-fabric.yml sees it
    return "true" if value else "false"


def _node_service(node: FabricNode, topology: Topology) -> dict[str, Any]:
    version = topology.spec.fabric_version
    volumes = [
        f"{HOME}/compose/{node.name}:{CONFIG_DIR}:ro",
        f"{HOME}/crypto:/etc/cbp/crypto:ro",
        f"{node.name}:{LEDGER_DIR}",
    ]
    if node.kind == "orderer":
        env = {
            "FABRIC_CFG_PATH": CONFIG_DIR,
            "FABRIC_LOGGING_SPEC": "info",
            "ORDERER_GENERAL_LOCALMSPID": node.msp_id,
            "ORDERER_GENERAL_LISTENADDRESS": node.host,
            "ORDERER_GENERAL_LISTENPORT": str(node.port),
            "ORDERER_GENERAL_CLUSTER_LISTENPORT": str(node.cluster_port),
            "ORDERER_ADMIN_LISTENADDRESS": node.admin_address,
            "ORDERER_GENERAL_TLS_CLIENTAUTHREQUIRED": _flag(topology.client_auth_required),
            "ORDERER_OPERATIONS_LISTENADDRESS": f"{node.host}:{node.operations_port}",
        }
        return {
            "image": f"hyperledger/fabric-orderer:{version}",
            "network_mode": "host",
            "command": ["orderer"],
            "environment": env,
            "volumes": volumes,
            "healthcheck": _healthcheck_http(node.operations_port),
            "labels": {
                "org.cbp.msp-id": node.msp_id,
                "org.cbp.channels": ",".join(topology.channels),
            },
            "restart": "unless-stopped",
        }
    peer = topology.peer(node.name)
    env = {
        "FABRIC_CFG_PATH": CONFIG_DIR,
        "FABRIC_LOGGING_SPEC": "info",
        "CORE_PEER_ID": node.name,
        "CORE_PEER_LOCALMSPID": node.msp_id,
        "CORE_PEER_LISTENADDRESS": node.address,
        "CORE_PEER_ADDRESS": node.address,
        "CORE_PEER_GOSSIP_EXTERNALENDPOINT": node.address,
        "CORE_PEER_CHAINCODELISTENADDRESS": f"{node.host}:{node.chaincode_port}",
        "CORE_OPERATIONS_LISTENADDRESS": f"{node.host}:{node.operations_port}",
        "CORE_PEER_TLS_CLIENTAUTHREQUIRED": _flag(topology.client_auth_required),
    }
    return {
        "image": f"hyperledger/fabric-peer:{version}",
        "network_mode": "host",
        "command": ["peer", "node", "start"],
        "environment": env,
        "volumes": [*volumes, f"./network/builders/ccaas:{BUILDER_DIR}:ro"],
        "healthcheck": _healthcheck_http(node.operations_port),
        "labels": {
            "org.cbp.msp-id": node.msp_id,
            "org.cbp.channels": ",".join(topology.peer_channels(peer)),
        },
        "restart": "unless-stopped",
    }


def _chaincode_service(name: str, topology: Topology) -> dict[str, Any]:
    cc = topology.chaincodes[name]
    tls = f"/etc/cbp/crypto/chaincode/{name}"
    pkg = package_env(name)
    return {
        "build": {"context": ".", "dockerfile": "docker/chaincode.Dockerfile"},
        "image": "cbp-chaincode:local",
        "network_mode": "host",
        "command": [
            "serve",
            cc.contract,
            "--address",
            cc.address,
            "--chaincode-id",
            f"${{{pkg}:?run python -m network.compose prepare first}}",
            "--tls-cert",
            f"{tls}/server.crt",
            "--tls-key",
            f"{tls}/server.key",
            "--client-ca-cert",
            f"{tls}/ca.crt",
            "--config",
            CHAINCODE_CONFIG,
        ],
        # the chaincode's own config file only: its folder also holds the peers' client key
        "volumes": [
            f"{HOME}/crypto:/etc/cbp/crypto:ro",
            f"{HOME}/chaincode/{name}/config.json:{CHAINCODE_CONFIG}:ro",
        ],
        "healthcheck": {
            "test": [
                "CMD",
                "python",
                "-c",
                f"import socket; socket.create_connection(('{topology.host}', {cc.port}), 2)",
            ],
            "interval": "5s",
            "timeout": "3s",
            "retries": 20,
        },
        "restart": "unless-stopped",
    }


def served(topology: Topology) -> list[str]:
    """Chaincodes with a server container: those `up` starts (`autostart`), which run on the
    project's Python runtime; the others are test-only servers started on request."""
    return [n for n, cc in topology.chaincodes.items() if cc.autostart and not cc.server]


def compose_spec(topology: Topology) -> dict[str, Any]:
    nodes = container_nodes(topology)
    services: dict[str, Any] = {}
    for node in nodes:
        services[node.name] = _node_service(node, topology)
    for name in served(topology):
        services[f"chaincode-{name}"] = _chaincode_service(name, topology)
    services["fabric-setup"] = {
        # one-shot: joins channels, deploys the chaincodes, waits for readiness, exits 0
        "build": {
            "context": ".",
            "dockerfile": "docker/setup.Dockerfile",
            "args": {"FABRIC_VERSION": topology.spec.fabric_version},
        },
        "image": "cbp-fabric-setup:local",
        "network_mode": "host",
        "command": ["attach"],
        "environment": {"CBP_HOME": "/cbp"},
        "volumes": [f"{HOME}:/cbp"],
        "depends_on": {
            **{n.name: {"condition": "service_healthy"} for n in nodes},
            **{f"chaincode-{c}": {"condition": "service_healthy"} for c in served(topology)},
        },
        "restart": "no",
    }
    services["connector"] = {
        "profiles": ["connector"],
        "build": {"context": ".", "dockerfile": "docker/connector.Dockerfile"},
        "image": "cbp-connector:local",
        "network_mode": "host",
        "environment": {"CBP_HOME": "/cbp"},
        "volumes": [f"{HOME}:/cbp:ro", "connector-data:/var/lib/cbp-connector"],
        "depends_on": {"fabric-setup": {"condition": "service_completed_successfully"}},
        "restart": "unless-stopped",
    }
    return {
        "name": topology.name,
        "services": services,
        "volumes": {**{n.name: {} for n in nodes}, "connector-data": {}},
    }


def render_compose(topology: Topology) -> str:
    return HEADER + yamlio.safe_dump(compose_spec(topology), sort_keys=False, width=100)


def default_topology() -> Topology:
    # the committed file is always the default ports: it must not depend on CBP_PORT_OFFSET
    return load_topology(port_offset=0)


def write_compose(path: Path = COMPOSE_FILE, topology: Topology | None = None) -> Path:
    path.write_text(render_compose(topology or default_topology()))
    return path


def write_container_configs(topology: Topology, paths: SandboxPaths) -> list[Path]:
    """Each node's config as its container sees it, under <CBP_HOME>/compose/<node>/."""
    out = []
    for node in container_nodes(topology):
        d = paths.home / "compose" / node.name
        d.mkdir(parents=True, exist_ok=True)
        f = d / node.config_file.name
        f.write_text(render_node_config(node, topology, IN_CONTAINER, builder_dir=BUILDER_DIR))
        out.append(f)
    return out


def prepare(paths: SandboxPaths, topology: Topology | None = None) -> Path:
    """Everything the compose file mounts; returns the env file to pass to docker compose."""
    from network.sandbox import Sandbox  # the sandbox's own identities, blocks, profile

    topo = topology or default_topology()
    Sandbox(topo, paths, say=lambda m: print(f"[compose] {m}", flush=True)).prepare("fabric")
    write_container_configs(topo, paths)
    lines = [f"CBP_HOME={paths.home}"]
    for name in topo.chaincodes:
        pkg = lc.write_package(topo, paths, name, paths.home / "fabric" / "packages")
        lines.append(f"{package_env(name)}={pkg.package_id}")
    env = paths.home / ENV_FILE
    env.write_text("\n".join(lines) + "\n")
    return env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m network.compose")
    p.add_argument(
        "action", nargs="?", default="generate", choices=["generate", "check", "prepare"]
    )
    p.add_argument("--home", help="sandbox folder for prepare (default $CBP_HOME or ./.sandbox)")
    args = p.parse_args(argv)
    if args.action == "generate":
        print(f"wrote {write_compose()}")
    elif args.action == "check":
        if COMPOSE_FILE.read_text() != render_compose(default_topology()):
            print(
                f"{COMPOSE_FILE.name} is out of date: run python -m network.compose",
                file=sys.stderr,
            )
            return 1
        print(f"{COMPOSE_FILE.name} matches the topology")
    else:
        env = prepare(sandbox_paths(args.home))
        print(f"ready: docker compose --env-file {env} -f {COMPOSE_FILE.name} up -d")
    return 0


if __name__ == "__main__":
    sys.exit(main())
