"""Connecting the async core from the sandbox's connection profile, as `gateway.from_profile`."""

from __future__ import annotations

from pathlib import Path

from gateway.aio.gateway import Gateway, connect
from gateway.endpoints import read_profile, resolve_endpoint
from gateway.identity import load_identity
from gateway.options import Timeouts
from gateway.signing import load_signer


def from_profile(
    org_key: str,
    user: str = "User1",
    profile_path: str | Path | None = None,
    *,
    peer: str | None = None,
    timeouts: Timeouts | None = None,
) -> Gateway:
    """Connect (inside the running event loop) as `user` of `org_key` through its gateway peer."""
    ep = resolve_endpoint(read_profile(profile_path), org_key, user, peer)
    return connect(
        ep.url,
        load_identity(ep.msp_id, ep.certificate),
        load_signer(ep.private_key),
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
        timeouts=timeouts,
    )
