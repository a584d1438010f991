"""Hashing and signing: ECDSA with low-S signatures, as Fabric requires.

A signer is any callable taking a digest and returning a DER signature, so an HSM, a remote
signing service or an offline step can stand in for the in-process key (fabric-gateway's model).
Fabric's MSP rejects an ECDSA signature whose S is above half the curve order (signature
malleability), and OpenSSL produces such signatures half of the time; `ECDSASigner` folds them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from gateway.errors import IdentityError

Signer = Callable[[bytes], bytes]
"""Signs a message digest, returning the signature bytes (DER for ECDSA)."""

Hash = Callable[[bytes], bytes]
"""Hashes a message into the digest that a `Signer` signs."""

# Group orders of the curves Fabric's MSP accepts for ECDSA.
CURVE_ORDERS: dict[str, int] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def sha256(message: bytes) -> bytes:
    """Fabric's default hash for proposals, transactions and requests."""
    return hashlib.sha256(message).digest()


def sha384(message: bytes) -> bytes:
    return hashlib.sha384(message).digest()


def _order(curve: ec.EllipticCurve) -> int:
    try:
        return CURVE_ORDERS[curve.name]
    except KeyError:
        raise IdentityError(
            f"curve {curve.name} is not supported; Fabric ECDSA keys are P-256 or P-384"
        ) from None


def to_low_s(signature: bytes, curve: ec.EllipticCurve) -> bytes:
    """Return the DER signature with S folded into the lower half of the group order."""
    r, s = decode_dss_signature(signature)
    n = _order(curve)
    if s > n // 2:
        s = n - s
    return encode_dss_signature(r, s)


def is_low_s(signature: bytes, curve: ec.EllipticCurve) -> bool:
    _, s = decode_dss_signature(signature)
    return s <= _order(curve) // 2


class ECDSASigner:
    """Signs digests with an ECDSA private key; every signature it returns is low-S."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        _order(private_key.curve)
        self._key = private_key
        self._prehash: hashes.HashAlgorithm = (
            hashes.SHA256() if private_key.curve.key_size == 256 else hashes.SHA384()
        )

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def __call__(self, digest: bytes) -> bytes:
        if len(digest) != self._prehash.digest_size:
            raise ValueError(
                f"digest is {len(digest)} bytes; this {self._key.curve.name} signer signs "
                f"{self._prehash.digest_size}-byte digests (hash the message first)"
            )
        der = self._key.sign(digest, ec.ECDSA(Prehashed(self._prehash)))
        return to_low_s(der, self._key.curve)

    def __repr__(self) -> str:  # never show key material
        return f"ECDSASigner(curve={self._key.curve.name})"


def load_private_key(source: bytes | str | Path) -> ec.EllipticCurvePrivateKey:
    """Read a PEM private key (PKCS#8 or SEC1) from bytes or a file path."""
    where = "the given PEM bytes"
    if isinstance(source, str | Path):
        where = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise IdentityError(f"private key {where} cannot be read: {exc.strerror}") from exc
    else:
        data = source
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(
            f"private key {where} is not an unencrypted PEM private key: {exc}"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IdentityError(
            f"private key {where} is {type(key).__name__}; Fabric identities here use ECDSA"
        )
    return key


def load_signer(source: bytes | str | Path) -> ECDSASigner:
    """A low-S ECDSA signer from a PEM private key (bytes or a file path)."""
    return ECDSASigner(load_private_key(source))


def verify_signature(
    public_key: ec.EllipticCurvePublicKey, message: bytes, signature: bytes
) -> bool:
    """True when `signature` is a valid ECDSA signature of `message` (hashed per the curve)."""
    algorithm: hashes.HashAlgorithm = (
        hashes.SHA256() if public_key.curve.key_size == 256 else hashes.SHA384()
    )
    try:
        public_key.verify(signature, message, ec.ECDSA(algorithm))
    except (InvalidSignature, ValueError):
        return False
    return True
