"""Requests between organisations' connectors, signed with the organisation's Fabric identity.

An attachment's bytes stay in the store of the connector they were uploaded through; the ledger
keeps their SHA-256. When the TSO, the POD's DSO or the auditor opens one, their connector asks
the uploader's connector for the bytes. The request is signed the way Fabric signs a proposal
(ECDSA over SHA-256, by a certificate of the asking organisation), so the answering connector
trusts exactly whom the channel trusts:

- the certificate must be issued by a CA of that MSP in the channel's configuration block;
- the signature must hold over the method, the path, the time and the MSP id;
- the time must be within `FRESH_SECONDS` of the answering connector's clock.

The answering connector then decides, by the POD's record, whether that organisation may see
the document; the asking connector checks the bytes against the ledger's SHA-256 before
anyone sees them. Pure functions here; the HTTP sides are `routes/exchange.py` and
`services/exchange.py`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.audit import issued_by
from gateway.signing import verify_signature

CERTIFICATE, MSP, SIGNED_AT, SIGNATURE = (
    "X-CBP-Certificate",
    "X-CBP-MSP",
    "X-CBP-Signed-At",
    "X-CBP-Signature",
)
FRESH_SECONDS = 60


class ExchangeRefused(Exception):
    """A request from another organisation that this connector does not accept."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Requester:
    msp_id: str
    common_name: str


def signed_text(method: str, path: str, signed_at: int, msp_id: str) -> bytes:
    return f"{method.upper()} {path}\n{signed_at}\n{msp_id}".encode()


def headers(
    certificate_pem: bytes, msp_id: str, signed_at: int, signature: bytes
) -> dict[str, str]:
    """The headers that carry a request's signature over `signed_text(...)`."""
    return {
        CERTIFICATE: base64.b64encode(certificate_pem).decode(),
        MSP: msp_id,
        SIGNED_AT: str(signed_at),
        SIGNATURE: base64.b64encode(signature).decode(),
    }


def verify(
    headers: Mapping[str, str],
    method: str,
    path: str,
    cas_by_msp: Mapping[str, list[x509.Certificate]],
    now: float,
) -> Requester:
    """Who signed the request, or ExchangeRefused (401) naming what is wrong with it."""
    missing = [h for h in (CERTIFICATE, MSP, SIGNED_AT, SIGNATURE) if not headers.get(h)]
    if missing:
        raise ExchangeRefused(
            401,
            f"this request is for another organisation's connector and must be signed by it "
            f"(missing {', '.join(missing)})",
        )
    msp_id = headers[MSP]
    try:
        at = int(headers[SIGNED_AT])
    except ValueError:
        raise ExchangeRefused(401, f"{SIGNED_AT} must be a time in whole seconds") from None
    if abs(now - at) > FRESH_SECONDS:
        raise ExchangeRefused(
            401, f"the request was signed {int(now - at)} s from now; at most {FRESH_SECONDS} s"
        )
    try:
        certificate = x509.load_pem_x509_certificate(base64.b64decode(headers[CERTIFICATE]))
        signature = base64.b64decode(headers[SIGNATURE], validate=True)
    except (ValueError, binascii.Error):
        raise ExchangeRefused(
            401, f"{CERTIFICATE} and {SIGNATURE} must be base64 (a PEM certificate, a signature)"
        ) from None
    cas = cas_by_msp.get(msp_id)
    if not cas or not issued_by(certificate, cas):
        raise ExchangeRefused(
            401, f"the certificate was not issued by a CA of {msp_id} on this connector's channels"
        )
    key = certificate.public_key()
    text = signed_text(method, path, at, msp_id)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not verify_signature(key, text, signature):
        raise ExchangeRefused(401, "the signature does not match the request")
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return Requester(msp_id, str(names[0].value) if names else "")
