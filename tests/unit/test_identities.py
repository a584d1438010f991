"""Identities verify: they chain to the right CA, carry the right NodeOU role and attributes,
and secrets are owner-only."""

from __future__ import annotations

import json
import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from network.identities import ATTRS_OID, CryptoLayout


def _cert(path) -> x509.Certificate:  # type: ignore[no-untyped-def]
    return x509.load_pem_x509_certificate(path.read_bytes())


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, Exception):
        return False


def _ou(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value)


def test_identities_peer_chains_to_its_org_ca_only(crypto: CryptoLayout) -> None:
    peer = crypto.topology.peer("peer0.tso")
    node = crypto.node_dir("tso", peer.host)
    cert = _cert(crypto.signcert(node))
    assert _issued_by(cert, _cert(crypto.ca_cert("tso")))
    assert not _issued_by(cert, _cert(crypto.ca_cert("bsphost")))
    assert not _issued_by(cert, _cert(crypto.tlsca_cert("tso")))
    assert _ou(cert) == "peer"
    tls = _cert(node / "tls" / "server.crt")
    assert _issued_by(tls, _cert(crypto.tlsca_cert("tso")))
    sans = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert peer.host in sans.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]


def test_identities_roles_follow_node_ous(crypto: CryptoLayout) -> None:
    assert _ou(_cert(crypto.signcert(crypto.user_dir("bsp1", "Admin")))) == "admin"
    assert _ou(_cert(crypto.signcert(crypto.user_dir("bsp1", "User1")))) == "client"
    oorg = crypto.topology.orderer_org.key
    o = crypto.topology.orderers[0]
    assert _ou(_cert(crypto.signcert(crypto.node_dir(oorg, o.host)))) == "orderer"
    config = (crypto.org_msp("bsp1") / "config.yaml").read_text()
    assert "Enable: true" in config and "OrganizationalUnitIdentifier: client" in config


def test_identities_user_carries_fabric_ca_attributes(crypto: CryptoLayout) -> None:
    cert = _cert(crypto.signcert(crypto.user_dir("bsp1", "User1")))
    ext = cert.extensions.get_extension_for_oid(ATTRS_OID).value
    attrs = json.loads(ext.value)["attrs"]  # type: ignore[attr-defined]
    assert attrs["role"] == "BSP"
    assert attrs["eic"] == "10XIT-BSP-ALFA-U"
    assert attrs["hf.EnrollmentID"] == "User1@bsp1.cbp.local"


def test_identities_keys_are_p256_and_owner_only(crypto: CryptoLayout) -> None:
    keys = list(crypto.root.rglob("priv_sk")) + list(crypto.root.rglob("*.key"))
    assert len(keys) > 20
    for k in keys:
        assert stat.S_IMODE(k.stat().st_mode) == 0o600, k
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(crypto.keystore(crypto.user_dir("tso", "User1")).read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"


def test_identities_tenant_has_no_peers_but_own_ca(crypto: CryptoLayout) -> None:
    org_dir = crypto.org_dir(crypto.topology.orgs["bsp2"])
    assert not (org_dir / "peers").exists()
    assert _cert(crypto.ca_cert("bsp2")).subject != _cert(crypto.ca_cert("bsphost")).subject


def test_identities_generation_is_kept_once_complete(crypto: CryptoLayout) -> None:
    before = crypto.ca_cert("tso").read_bytes()
    crypto.generate()
    assert crypto.ca_cert("tso").read_bytes() == before
