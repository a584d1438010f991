from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from fabric_protos.msp import identities_pb2
from test_gateway_helpers import issue, new_ca, write_msp

from gateway import Identity, IdentityError, Wallet, load_msp_folder


def test_identity_load_msp_folder_picks_the_key_matching_signcert(tmp_path: Path) -> None:
    ca = new_ca()
    user = issue(ca, "User1@test.local")
    msp = write_msp(tmp_path, user, ca, extra_keys=2)
    identity, signer = load_msp_folder(msp, "TestMSP")
    assert identity.msp_id == "TestMSP"
    assert identity.common_name == "User1@test.local"
    digest = hashlib.sha256(b"payload").digest()
    user.cert.public_key().verify(  # type: ignore[call-arg]
        signer(digest), digest, ec.ECDSA(Prehashed(hashes.SHA256()))
    )


def test_identity_creator_is_a_serialized_identity(tmp_path: Path) -> None:
    user = issue(new_ca(), "User1")
    identity = Identity("TestMSP", user.cert_pem)
    sid = identities_pb2.SerializedIdentity()
    sid.ParseFromString(identity.creator)
    assert (sid.mspid, sid.id_bytes) == ("TestMSP", user.cert_pem)
    assert Identity.from_creator(identity.creator) == identity


def test_identity_msp_folder_errors_name_the_missing_part(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="does not exist"):
        load_msp_folder(tmp_path / "nope", "X")
    (tmp_path / "msp" / "signcerts").mkdir(parents=True)
    with pytest.raises(IdentityError, match="signcerts/ holds no certificate"):
        load_msp_folder(tmp_path / "msp", "X")
    user = issue(new_ca(), "u")
    (tmp_path / "msp" / "signcerts" / "c.pem").write_bytes(user.cert_pem)
    (tmp_path / "msp" / "keystore").mkdir()
    other = issue(new_ca(), "other")
    (tmp_path / "msp" / "keystore" / "priv_sk").write_bytes(other.key_pem)
    with pytest.raises(IdentityError, match="none of its 1 file"):
        load_msp_folder(tmp_path / "msp", "X")


def test_identity_rejects_non_certificate() -> None:
    with pytest.raises(IdentityError, match="not a PEM X.509 certificate"):
        Identity("TestMSP", b"garbage")
    with pytest.raises(IdentityError, match="empty MSP id"):
        Identity("", b"garbage")


def test_identity_wallet_round_trip_is_private_and_atomic(tmp_path: Path) -> None:
    user = issue(new_ca(), "User1")
    wallet = Wallet(tmp_path / "wallet")
    path = wallet.put("user1", Identity("TestMSP", user.cert_pem), user.key_pem)
    assert path.stat().st_mode & 0o777 == 0o600
    assert wallet.labels() == ["user1"]
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]
    identity, signer = wallet.get("user1")
    assert identity.msp_id == "TestMSP"
    digest = hashlib.sha256(b"m").digest()
    user.key.public_key().verify(signer(digest), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    with pytest.raises(IdentityError, match="has no identity 'admin'"):
        wallet.get("admin")
