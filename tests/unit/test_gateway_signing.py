from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from gateway.errors import IdentityError
from gateway.signing import CURVE_ORDERS, ECDSASigner, is_low_s, load_signer, to_low_s


def test_signing_every_signature_is_low_s_and_verifies() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = ECDSASigner(key)
    half = CURVE_ORDERS["secp256r1"] // 2
    for i in range(40):  # OpenSSL yields high S about half the time; all must come out low
        digest = hashlib.sha256(f"message {i}".encode()).digest()
        sig = signer(digest)
        _, s = decode_dss_signature(sig)
        assert s <= half
        key.public_key().verify(sig, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_signing_to_low_s_folds_a_high_s_signature_into_a_valid_one() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    digest = hashlib.sha256(b"x").digest()
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    n = CURVE_ORDERS["secp256r1"]
    high = encode_dss_signature(r, max(s, n - s))
    assert not is_low_s(high, key.curve)
    low = to_low_s(high, key.curve)
    assert is_low_s(low, key.curve)
    key.public_key().verify(low, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_signing_refuses_a_message_passed_as_digest() -> None:
    signer = ECDSASigner(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ValueError, match="32-byte digests"):
        signer(b"not a digest")


def test_signing_load_signer_rejects_non_key_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "priv_sk"
    bad.write_text("hello")
    with pytest.raises(IdentityError, match="priv_sk is not an unencrypted PEM private key"):
        load_signer(bad)
    with pytest.raises(IdentityError, match="cannot be read"):
        load_signer(tmp_path / "missing")


def test_signing_repr_shows_no_key_material() -> None:
    assert repr(ECDSASigner(ec.generate_private_key(ec.SECP256R1()))) == (
        "ECDSASigner(curve=secp256r1)"
    )
