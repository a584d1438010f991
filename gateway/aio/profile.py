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
    """Connect (inside the running event loop) as `user` of `org_key` through its gateway peer;
    the user's TLS client certificate is presented when the profile says the peers require it."""
    ep = resolve_endpoint(read_profile(profile_path), org_key, user, peer)
    return connect(
        ep.url,
        load_identity(ep.msp_id, ep.certificate),
        load_signer(ep.private_key),
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
        client_certificate=ep.tls_client_certificate if ep.mutual_tls else None,
        client_key=ep.tls_client_key if ep.mutual_tls else None,
        timeouts=timeouts,
    )
