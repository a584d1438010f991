from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway import IdentityError
from gateway.profile import read_profile, resolve_endpoint

PROFILE = {
    "name": "cbp-sandbox",
    "organizations": {
        "tso": {
            "mspid": "TSOMSP",
            "peers": ["peer0.tso.cbp.local"],
            "users": {"User1": {"cert": "/c/tso.pem", "key": "/c/tso_sk"}},
        },
        "bsp1": {
            "mspid": "BSP1MSP",
            "peers": [],
            "gatewayPeer": "peer0.bsphost.cbp.local",
            "users": {"User1": {"cert": "/c/bsp1.pem", "key": "/c/bsp1_sk", "tlsCert": "/t.crt"}},
        },
    },
    "peers": {
        "peer0.tso.cbp.local": {
            "url": "grpcs://127.0.0.1:7051",
            "mspid": "TSOMSP",
            "tlsCACert": "/ca/tso.pem",
            "hostname": "peer0.tso.cbp.local",
        },
        "peer0.bsphost.cbp.local": {
            "url": "grpcs://127.0.0.1:8051",
            "mspid": "BSPHostMSP",
            "tlsCACert": "/ca/bsphost.pem",
            "hostname": "peer0.bsphost.cbp.local",
        },
    },
}


def test_profile_org_with_peers_uses_its_own_peer() -> None:
    ep = resolve_endpoint(PROFILE, "tso")
    assert (ep.msp_id, ep.peer, ep.url, ep.hostname) == (
        "TSOMSP",
        "peer0.tso.cbp.local",
        "grpcs://127.0.0.1:7051",
        "peer0.tso.cbp.local",
    )
    assert ep.certificate == Path("/c/tso.pem") and ep.tls_ca_certificate == Path("/ca/tso.pem")


def test_profile_tenant_uses_its_gateway_peer() -> None:
    ep = resolve_endpoint(PROFILE, "bsp1")
    assert (ep.msp_id, ep.peer, ep.url) == (
        "BSP1MSP",
        "peer0.bsphost.cbp.local",
        "grpcs://127.0.0.1:8051",
    )
    assert ep.tls_client_certificate == Path("/t.crt") and ep.tls_client_key is None


def test_profile_errors_name_what_is_missing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdentityError, match=r"no organization 'bsp9' \(has: bsp1, tso\)"):
        resolve_endpoint(PROFILE, "bsp9")
    with pytest.raises(IdentityError, match=r"no user 'Admin' .*has: User1"):
        resolve_endpoint(PROFILE, "tso", "Admin")
    monkeypatch.setenv("CBP_HOME", str(tmp_path))
    with pytest.raises(IdentityError, match="start the sandbox"):
        read_profile()
    (tmp_path / "connection-profile.json").write_text(json.dumps(PROFILE))
    assert read_profile()["name"] == "cbp-sandbox"
