"""Reading the sandbox's connection profile (`$CBP_HOME/connection-profile.json`): which
gateway peer and credentials an org's user connects with (pure; no connection is opened).

An org with peers uses its own first peer; a tenant org (no peers) uses its `gatewayPeer`, the
host's peer that serves it. TLS is always on: the peer's TLS CA from the profile, and the
profile's `hostname` as the TLS server name since peers listen on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import IdentityError


def default_profile_path() -> Path:
    home = os.environ.get("CBP_HOME") or ".sandbox"
    return Path(home).resolve() / "connection-profile.json"


@dataclass(frozen=True)
class GatewayEndpoint:
    """Everything needed to reach one org's gateway peer as one of its users."""

    org: str
    msp_id: str
    user: str
    peer: str
    url: str
    hostname: str
    tls_ca_certificate: Path
    certificate: Path
    private_key: Path
    tls_client_certificate: Path | None = None
    tls_client_key: Path | None = None
    # the peers require a client TLS certificate (the profile's clientAuthRequired)
    mutual_tls: bool = False


def read_profile(path: str | Path | None = None) -> dict[str, Any]:
    p = Path(path) if path is not None else default_profile_path()
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise IdentityError(
            f"connection profile {p} does not exist; start the sandbox (or set CBP_HOME)"
        ) from None
    except (OSError, ValueError) as exc:
        raise IdentityError(f"connection profile {p} cannot be read as JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise IdentityError(f"connection profile {p} must be a JSON object")
    return data


def resolve_endpoint(
    profile: dict[str, Any], org_key: str, user: str = "User1", peer: str | None = None
) -> GatewayEndpoint:
    """Pick the org's gateway peer and user credentials from a loaded profile."""
    orgs = profile.get("organizations", {})
    org = orgs.get(org_key)
    if org is None:
        raise IdentityError(
            f"connection profile has no organization {org_key!r} (has: {', '.join(sorted(orgs))})"
        )
    users = org.get("users", {})
    creds = users.get(user)
    if creds is None:
        raise IdentityError(
            f"organization {org_key} has no user {user!r} in the profile "
            f"(has: {', '.join(sorted(users))})"
        )
    peer_name = peer or (org.get("peers") or [None])[0] or org.get("gatewayPeer")
    if not peer_name:
        raise IdentityError(
            f"organization {org_key} has neither peers nor a gatewayPeer in the profile"
        )
    peers = profile.get("peers", {})
    peer_entry = peers.get(peer_name)
    if peer_entry is None:
        raise IdentityError(f"connection profile has no peer {peer_name!r} (for org {org_key})")
    for key in ("url", "tlsCACert"):
        if not peer_entry.get(key):
            raise IdentityError(f"peer {peer_name} in the profile has no {key!r}")
    for key in ("cert", "key"):
        if not creds.get(key):
            raise IdentityError(f"user {user} of {org_key} in the profile has no {key!r}")
    return GatewayEndpoint(
        org=org_key,
        msp_id=org["mspid"],
        user=user,
        peer=peer_name,
        url=peer_entry["url"],
        hostname=peer_entry.get("hostname") or peer_name,
        tls_ca_certificate=Path(peer_entry["tlsCACert"]),
        certificate=Path(creds["cert"]),
        private_key=Path(creds["key"]),
        tls_client_certificate=Path(creds["tlsCert"]) if creds.get("tlsCert") else None,
        tls_client_key=Path(creds["tlsKey"]) if creds.get("tlsKey") else None,
        mutual_tls=bool(profile.get("clientAuthRequired", False)),
    )
