"""An attachment's document between organisations, on the running sandbox: the TSO, the
POD's DSO and the auditor open the single-line diagram a BSP uploaded, through their own connectors, which
fetch it from the BSP's connector with a request signed by their Fabric identity; the BSP's
connector refuses whoever the channel does not vouch for or may not see the POD."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from connector_helpers import PDF, committed, new_pod_code, pod_body, until
from connectors import Connectors
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connector import exchange

pytestmark = pytest.mark.sandbox

SHA = hashlib.sha256(PDF).hexdigest()


@pytest.fixture(scope="module")
def attachment(connectors: Connectors) -> dict[str, Any]:
    """A POD of BSP 1 with a single-line diagram attached, sent for review."""
    bsp = connectors.client("bsp1")
    code = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(code))
    upload = bsp.post(
        f"/pods/{code}/attachments/upload",
        files={"file": ("single-line-diagram.pdf", PDF, "application/pdf")},
        data={"documentType": "SingleLineDiagram"},
        headers={"Prefer": "wait=30"},
    )
    assert upload.status_code == 200, upload.text
    until(lambda: bsp.get(f"/pods/{code}").json()["status"] == "Open", what="POD opened")
    committed(bsp, "PATCH", f"/pods/{code}/status", {"status": "UnderReview"})
    [found] = bsp.get(f"/pods/{code}").json()["attachments"]
    return {"pod": code, **found}


def test_the_tso_the_dso_and_the_auditor_open_the_diagram_a_bsp_uploaded(
    connectors: Connectors, attachment: dict[str, Any]
) -> None:
    for org, access in (("tso", "operator"), ("areti", "operator"), ("regulator", "viewer")):
        client = connectors.client(org, access)
        until(
            lambda c=client: c.get(f"/attachments/{attachment['id']}").status_code == 200,
            what=f"{org} mirrors the attachment",
        )
        reply = client.get(f"/attachments/{attachment['id']}/content")
        assert reply.status_code == 200, reply.text
        assert reply.content == PDF
        assert reply.headers["X-Content-SHA256"] == SHA
        assert reply.headers["content-type"] == "application/pdf"
        # kept: the second time it is this connector's own copy
        assert client.get(f"/attachments/{attachment['id']}/content").content == PDF


def _signed(
    connectors: Connectors, org: str, digest: str, msp: str | None = None, at: float | None = None
) -> dict[str, str]:
    """Headers as `org`'s connector would sign them, from its User1's key in the profile."""
    profile = json.loads(connectors.profile.read_text())["organizations"][org]
    user = profile["users"]["User1"]
    key = serialization.load_pem_private_key(Path(user["key"]).read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    msp_id = msp or profile["mspid"]
    signed_at = int(at if at is not None else time.time())
    path = f"/exchange/documents/{digest}"
    text = exchange.signed_text("GET", path, signed_at, msp_id)
    signature = key.sign(text, ec.ECDSA(hashes.SHA256()))
    return exchange.headers(Path(user["cert"]).read_bytes(), msp_id, signed_at, signature)


def _ask(connectors: Connectors, digest: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{connectors.urls['bsp1']}/exchange/documents/{digest}", headers=headers)


def test_the_bsps_connector_serves_the_tso_a_signed_request(
    connectors: Connectors, attachment: dict[str, Any]
) -> None:
    reply = _ask(connectors, SHA, _signed(connectors, "tso", SHA))
    assert reply.status_code == 200 and reply.content == PDF


@pytest.mark.parametrize(
    ("who", "change", "status", "says"),
    [
        ("tso", "unsigned", 401, "must be signed"),
        ("tso", "stale", 401, "at most 60 s"),
        ("bsp2", "claims the TSO", 401, "not issued by a CA of TSOMSP"),
        ("tso", "another document's signature", 401, "does not match"),
        ("bsp2", "", 401, "not issued by a CA of BSP2MSP"),  # not on BSP 1's channel
        ("bsphost", "", 403, "may not see the POD"),  # on the channel, no business with it
    ],
)
def test_the_bsps_connector_refuses(
    connectors: Connectors,
    attachment: dict[str, Any],
    who: str,
    change: str,
    status: int,
    says: str,
) -> None:
    headers = _signed(
        connectors,
        who,
        "0" * 64 if change == "another document's signature" else SHA,
        msp="TSOMSP" if change == "claims the TSO" else None,
        at=time.time() - 600 if change == "stale" else None,
    )
    if change == "unsigned":
        headers = {}
    reply = _ask(connectors, SHA, headers)
    assert reply.status_code == status, reply.text
    assert says in reply.json()["error"]["message"]
    assert reply.content != PDF


def test_a_digest_that_is_not_one_is_refused_by_its_shape(connectors: Connectors) -> None:
    reply = _ask(connectors, "not-a-digest", {})
    assert reply.status_code == 422


def test_another_bsp_cannot_reach_the_document_through_its_own_connector(
    connectors: Connectors, attachment: dict[str, Any]
) -> None:
    other = connectors.client("bsp2")
    reply = other.get(f"/attachments/{attachment['id']}/content")
    assert reply.status_code in (403, 404), reply.text
    assert base64.b64encode(PDF).decode() not in reply.text and reply.content != PDF
