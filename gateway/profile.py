"""Connecting from the sandbox's connection profile (`$CBP_HOME/connection-profile.json`).

`gateway.endpoints` reads the profile; this module opens the sync gateway from it.
"""

from __future__ import annotations

from pathlib import Path

from gateway.endpoints import GatewayEndpoint, default_profile_path, read_profile, resolve_endpoint
from gateway.gateway import Gateway, connect
from gateway.identity import Identity, load_identity
from gateway.options import Timeouts
from gateway.signing import ECDSASigner, load_signer

__all__ = [
    "GatewayEndpoint",
    "default_profile_path",
    "from_profile",
    "load_profile_identity",
    "read_profile",
    "resolve_endpoint",
]


def load_profile_identity(
    org_key: str, user: str = "User1", profile_path: str | Path | None = None
) -> tuple[Identity, ECDSASigner]:
    ep = resolve_endpoint(read_profile(profile_path), org_key, user)
    return load_identity(ep.msp_id, ep.certificate), load_signer(ep.private_key)


def from_profile(
    org_key: str,
    user: str = "User1",
    profile_path: str | Path | None = None,
    *,
    peer: str | None = None,
    mutual_tls: bool | None = None,
    timeouts: Timeouts | None = None,
) -> Gateway:
    """Connect as `user` of `org_key` through that org's gateway peer, per the profile;
    the user's TLS client certificate is presented when the profile says the peers require
    one (or when `mutual_tls` is True)."""
    ep = resolve_endpoint(read_profile(profile_path), org_key, user, peer)
    if mutual_tls is None:
        mutual_tls = ep.mutual_tls
    identity = load_identity(ep.msp_id, ep.certificate)
    signer = load_signer(ep.private_key)
    return connect(
        ep.url,
        identity,
        signer,
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
        client_certificate=ep.tls_client_certificate if mutual_tls else None,
        client_key=ep.tls_client_key if mutual_tls else None,
        timeouts=timeouts,
    )
