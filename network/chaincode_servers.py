"""How a chaincode server is started, whichever engine dials it.

The Python runtime serves a topology chaincode by default; a chaincode with a `server` argv in the
topology (Fabric's Node contract API, say) is started with that command, its placeholders filled.
"""

from __future__ import annotations

import sys
from pathlib import Path

from network.identities import CryptoLayout
from network.topology import Topology

REPO_ROOT = Path(__file__).resolve().parent.parent


def chaincode_server_argv(
    topology: Topology, crypto: CryptoLayout, name: str, chaincode_id: str
) -> list[str]:
    """The command serving chaincode `name` as `chaincode_id` (the package id the peer expects),
    with mutual TLS from the chaincode's TLS folder."""
    cc = topology.chaincodes[name]
    tls = crypto.chaincode_tls(name)
    fields = {
        "address": cc.address,
        "chaincode_id": chaincode_id,
        "tls_cert": str(tls / "server.crt"),
        "tls_key": str(tls / "server.key"),
        "client_ca_cert": str(tls / "ca.crt"),
        "root": str(REPO_ROOT),
    }
    if cc.server:
        return [part.format(**fields) for part in cc.server]
    return [
        sys.executable, "-m", "chaincode.runtime", "serve", cc.contract,
        "--address", cc.address, "--chaincode-id", chaincode_id,
        "--tls-cert", fields["tls_cert"], "--tls-key", fields["tls_key"],
        "--client-ca-cert", fields["client_ca_cert"],
    ]  # fmt: skip
