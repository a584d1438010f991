"""How a chaincode server is started, whichever engine dials it, and what it is told.

The Python runtime serves a topology chaincode by default; a chaincode with a `server` argv in the
topology (Fabric's Node contract API, say) is started with that command, its placeholders filled.
Every server gets its configuration file (`chaincode_config`): the organisations of the network,
written from the topology, so that no contract hard-codes an MSP id.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from network.identities import CryptoLayout
from network.topology import Topology

REPO_ROOT = Path(__file__).resolve().parent.parent


def chaincode_config(topology: Topology, name: str) -> dict[str, Any]:
    """What chaincode `name` knows of the network (read by `chaincode.runtime` as
    `ChaincodeConfig`): the channels it is on with their member orgs, and every peer org."""
    return {
        "chaincode": name,
        "channels": {
            ch.name: list(ch.orgs) for ch in topology.channels.values() if name in ch.chaincodes
        },
        "organizations": {
            key: {
                "mspId": org.msp_id,
                "name": org.name,
                "role": org.role,
                "eic": org.eic,
                "bna": org.bna,
                "tenantOf": org.tenant_of,
            }
            for key, org in topology.orgs.items()
            if org.kind == "peer"
        },
    }


def write_chaincode_config(topology: Topology, name: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(chaincode_config(topology, name), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def chaincode_server_argv(
    topology: Topology, crypto: CryptoLayout, name: str, chaincode_id: str, config: Path
) -> list[str]:
    """The command serving chaincode `name` as `chaincode_id` (the package id the peer expects),
    with mutual TLS from the chaincode's TLS folder and its configuration file `config`."""
    cc = topology.chaincodes[name]
    tls = crypto.chaincode_tls(name)
    fields = {
        "address": cc.address,
        "chaincode_id": chaincode_id,
        "tls_cert": str(tls / "server.crt"),
        "tls_key": str(tls / "server.key"),
        "client_ca_cert": str(tls / "ca.crt"),
        "config": str(config),
        "root": str(REPO_ROOT),
    }
    if cc.server:
        return [part.format(**fields) for part in cc.server]
    return [
        sys.executable, "-m", "chaincode.runtime", "serve", cc.contract,
        "--address", cc.address, "--chaincode-id", chaincode_id,
        "--tls-cert", fields["tls_cert"], "--tls-key", fields["tls_key"],
        "--client-ca-cert", fields["client_ca_cert"], "--config", fields["config"],
    ]  # fmt: skip
