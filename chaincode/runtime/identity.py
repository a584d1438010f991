"""The submitting client's identity, read from the proposal's creator.

The id, attributes and MSP id are computed the way fabric-chaincode-node's ClientIdentity
computes them, so a contract ported from Node sees the same strings.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier
from fabric_protos.msp import identities_pb2

from .errors import ChaincodeError

__all__ = ["ATTRIBUTE_EXTENSION_OID", "ClientIdentity"]

# Fabric CA writes enrollment attributes as JSON {"attrs": {...}} in this extension.
ATTRIBUTE_EXTENSION_OID = ObjectIdentifier("1.2.3.4.5.6.7.8.1")

_SHORT_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.POSTAL_CODE: "postalCode",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.EMAIL_ADDRESS: "E",
}


def _format_dn(name: x509.Name) -> str:
    parts = []
    for attribute in name:
        short = _SHORT_NAMES.get(attribute.oid, attribute.oid.dotted_string)
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        parts.append(f"/{short}={value.replace('/', chr(92) + '/')}")
    return "".join(parts)


def _read_attributes(cert: x509.Certificate) -> dict[str, str]:
    try:
        extension = cert.extensions.get_extension_for_oid(ATTRIBUTE_EXTENSION_OID)
    except x509.ExtensionNotFound:
        return {}
    value = extension.value
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    try:
        decoded = json.loads(raw)
    except ValueError as exc:
        raise ChaincodeError(
            f"certificate attribute extension {ATTRIBUTE_EXTENSION_OID.dotted_string} is not JSON"
        ) from exc
    attrs = decoded.get("attrs", {}) if isinstance(decoded, dict) else {}
    if not isinstance(attrs, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in attrs.items()}


@lru_cache(maxsize=512)
def _parse_creator(creator: bytes) -> tuple[str, bytes, x509.Certificate, str, dict[str, str]]:
    # The same few clients sign most proposals: parse each certificate once.
    identity = identities_pb2.SerializedIdentity.FromString(creator)
    try:
        cert = x509.load_pem_x509_certificate(identity.id_bytes)
    except ValueError as exc:
        raise ChaincodeError(
            f"creator of MSP {identity.mspid} is not an X.509 PEM certificate"
        ) from exc
    ident = f"x509::{_format_dn(cert.subject)}::{_format_dn(cert.issuer)}"
    return identity.mspid, identity.id_bytes, cert, ident, _read_attributes(cert)


class ClientIdentity:
    """Who submitted the proposal: MSP id, certificate, unique id, Fabric CA attributes."""

    __slots__ = ("_attrs", "_cert", "_id", "_id_bytes", "_msp_id")

    def __init__(self, creator: bytes) -> None:
        if not creator:
            raise ChaincodeError("the proposal has no creator: no client identity")
        self._msp_id, self._id_bytes, self._cert, self._id, self._attrs = _parse_creator(
            bytes(creator)
        )

    def get_msp_id(self) -> str:
        return self._msp_id

    def get_id(self) -> str:
        """``x509::/C=../O=../CN=<subject>::/C=../CN=<issuer>`` as fabric-chaincode-node builds it."""
        return self._id

    def get_id_bytes(self) -> bytes:
        return self._id_bytes

    def get_x509_certificate(self) -> x509.Certificate:
        return self._cert

    def get_attributes(self) -> dict[str, str]:
        return dict(self._attrs)

    def get_attribute_value(self, name: str) -> str | None:
        return self._attrs.get(name)

    def assert_attribute_value(self, name: str, value: str) -> bool:
        """Raise unless attribute ``name`` equals ``value``; True when it does."""
        actual = self._attrs.get(name)
        if actual is None:
            raise ChaincodeError(f"client {self._id} has no attribute {name!r}")
        if actual != value:
            raise ChaincodeError(
                f"client {self._id} attribute {name!r} is {actual!r}; {value!r} is required"
            )
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"mspId": self._msp_id, "id": self._id, "attrs": dict(self._attrs)}
