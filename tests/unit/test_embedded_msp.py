from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from embedded_fixtures import Chain, make_cert, pem
from fabric_protos.msp import msp_config_pb2, msp_principal_pb2

from network.embedded import protoutil
from network.embedded.channelconfig import ChannelConfig
from network.embedded.msp import MSPError, MSPManager, msp_config_from_dir

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def msps(chain: Chain) -> MSPManager:
    return ChannelConfig.from_block(chain.genesis).msp_manager


def _ca(chain: Chain, org_key: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(chain.layout.ca_cert(org_key).read_bytes())
    key = serialization.load_pem_private_key(
        (chain.layout.ca_cert(org_key).parent / "priv_sk").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def _sid(msp_id: str, cert: x509.Certificate) -> bytes:
    return protoutil.serialized_identity(msp_id, pem(cert))


def _role(msp_id: str, role: int) -> msp_principal_pb2.MSPPrincipal:
    return msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
        principal=msp_principal_pb2.MSPRole(msp_identifier=msp_id, role=role).SerializeToString(),
    )


def test_msp_roles_come_from_node_ous(chain: Chain, msps: MSPManager) -> None:
    user = msps.deserialize_identity(chain.user("bsp1").serialize())
    peer = msps.deserialize_identity(chain.peer("tso").serialize())
    admin = msps.deserialize_identity(chain.user("tso", "Admin").serialize())
    for ident in (user, peer, admin):
        ident.validate()
    assert user.msp_id == "BSP1MSP"
    assert user.roles == {"member", "client"}
    assert peer.roles == {"member", "peer"}
    assert admin.roles == {"member", "admin"}


def test_msp_unknown_msp_is_refused(msps: MSPManager, chain: Chain) -> None:
    cert = chain.user("bsp1").certificate
    with pytest.raises(MSPError, match="NOPEMSP is not a member"):
        msps.deserialize_identity(_sid("NOPEMSP", cert))


def test_msp_cert_from_foreign_ca_is_refused(msps: MSPManager) -> None:
    ca_cert, ca_key = make_cert(
        issuer_key=None,
        issuer_name=None,
        subject_cn="ca.bsp1.cbp.local",
        ou=None,  # type: ignore[arg-type]
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
        ca=True,
    )
    cert, _ = make_cert(
        issuer_key=ca_key,
        issuer_name=ca_cert.subject,
        subject_cn="mallory",
        ou="client",
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
    )
    ident = msps.deserialize_identity(_sid("BSP1MSP", cert))
    with pytest.raises(MSPError, match="does not chain to a CA of MSP BSP1MSP"):
        ident.validate()
    assert not ident.satisfies_principal(_role("BSP1MSP", msp_principal_pb2.MSPRole.MEMBER))


def test_msp_expired_cert_is_refused(chain: Chain, msps: MSPManager) -> None:
    ca_cert, ca_key = _ca(chain, "bsp1")
    cert, _ = make_cert(
        issuer_key=ca_key,
        issuer_name=ca_cert.subject,
        subject_cn="old",
        ou="client",
        not_before=NOW - dt.timedelta(days=10),
        not_after=NOW - dt.timedelta(days=1),
    )
    with pytest.raises(MSPError, match="validity period"):
        msps.deserialize_identity(_sid("BSP1MSP", cert)).validate()


def test_msp_identity_needs_exactly_one_node_ou(chain: Chain, msps: MSPManager) -> None:
    ca_cert, ca_key = _ca(chain, "bsp1")
    cert, _ = make_cert(
        issuer_key=ca_key,
        issuer_name=ca_cert.subject,
        subject_cn="nobody",
        ou=None,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
    )
    with pytest.raises(MSPError, match="exactly one of the NodeOUs"):
        msps.deserialize_identity(_sid("BSP1MSP", cert)).validate()


def test_msp_ca_certificate_cannot_be_an_identity(chain: Chain, msps: MSPManager) -> None:
    ca_cert, _ = _ca(chain, "bsp1")
    with pytest.raises(MSPError, match="CA certificate"):
        msps.deserialize_identity(_sid("BSP1MSP", ca_cert)).validate()


def test_msp_identity_claiming_another_msp_does_not_chain(chain: Chain, msps: MSPManager) -> None:
    cert = chain.user("bsp1").certificate
    with pytest.raises(MSPError, match="does not chain"):
        msps.deserialize_identity(_sid("TSOMSP", cert)).validate()


def test_msp_verify_accepts_low_s_and_rejects_high_s(chain: Chain, msps: MSPManager) -> None:
    signer = chain.user("bsp1")
    ident = msps.deserialize_identity(signer.serialize())
    sig = signer.sign(b"message")
    r, s = decode_dss_signature(sig)
    assert s <= P256_N // 2
    assert ident.verify(b"message", sig)
    high = encode_dss_signature(r, P256_N - s)
    assert not ident.verify(b"message", high)
    assert not ident.verify(b"other message", sig)
    assert not ident.verify(b"message", b"garbage")


def test_msp_signatures_are_always_low_s(chain: Chain) -> None:
    signer = chain.user("bsp1")
    for i in range(32):
        _, s = decode_dss_signature(signer.sign(b"m%d" % i))
        assert s <= P256_N // 2


def test_msp_principals_roles_and_identity(chain: Chain, msps: MSPManager) -> None:
    user = msps.deserialize_identity(chain.user("bsp1").serialize())
    peer = msps.deserialize_identity(chain.peer("tso").serialize())
    R = msp_principal_pb2.MSPRole
    assert user.satisfies_principal(_role("BSP1MSP", R.MEMBER))
    assert user.satisfies_principal(_role("BSP1MSP", R.CLIENT))
    assert not user.satisfies_principal(_role("BSP1MSP", R.PEER))
    assert not user.satisfies_principal(_role("BSP1MSP", R.ADMIN))
    assert not user.satisfies_principal(_role("TSOMSP", R.MEMBER))
    assert peer.satisfies_principal(_role("TSOMSP", R.PEER))
    same = msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.IDENTITY,
        principal=user.serialized,
    )
    assert user.satisfies_principal(same)
    assert not peer.satisfies_principal(same)


def test_msp_deserialisation_is_cached(chain: Chain, msps: MSPManager) -> None:
    raw = chain.user("bsp1").serialize()
    assert msps.deserialize_identity(raw) is msps.deserialize_identity(raw)


def test_msp_config_from_dir_reads_node_ous(chain: Chain) -> None:
    cfg = msp_config_from_dir("BSP1MSP", chain.layout.org_msp("bsp1"))
    fab = msp_config_pb2.FabricMSPConfig.FromString(cfg.config)
    assert fab.name == "BSP1MSP"
    assert fab.fabric_node_ous.enable
    assert fab.fabric_node_ous.client_ou_identifier.organizational_unit_identifier == "client"
    assert fab.fabric_node_ous.admin_ou_identifier.organizational_unit_identifier == "admin"
    mgr = MSPManager.from_msp_configs([cfg])
    mgr.deserialize_identity(chain.user("bsp1").serialize()).validate()


def test_msp_revoked_cert_is_refused(chain: Chain) -> None:
    from cryptography.hazmat.primitives import hashes

    ca_cert, ca_key = _ca(chain, "bsp1")
    victim = chain.user("bsp1").certificate
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(NOW - dt.timedelta(hours=1))
        .next_update(NOW + dt.timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(victim.serial_number)
            .revocation_date(NOW - dt.timedelta(minutes=5))
            .build()
        )
        .sign(ca_key, hashes.SHA256())
    )
    cfg = msp_config_from_dir("BSP1MSP", chain.layout.org_msp("bsp1"))
    fab = msp_config_pb2.FabricMSPConfig.FromString(cfg.config)
    fab.revocation_list.append(crl.public_bytes(serialization.Encoding.PEM))
    cfg.config = fab.SerializeToString()
    mgr = MSPManager.from_msp_configs([cfg])
    with pytest.raises(MSPError, match="is revoked"):
        mgr.deserialize_identity(chain.user("bsp1").serialize()).validate()
    mgr.deserialize_identity(chain.user("bsp1", "Admin").serialize()).validate()


def test_msp_chain_through_an_intermediate_ca() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    root, root_key = make_cert(
        issuer_key=None,
        issuer_name=None,
        subject_cn="root",
        ou=None,  # type: ignore[arg-type]
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=9),
        ca=True,
    )
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intermediate")])
    inter = (
        x509.CertificateBuilder()
        .subject_name(inter_name)
        .issuer_name(root.subject)
        .public_key(inter_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=9))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    leaf, _ = make_cert(
        issuer_key=inter_key,
        issuer_name=inter_name,
        subject_cn="leaf",
        ou="client",
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
    )

    def manager(intermediates: list[x509.Certificate]) -> MSPManager:
        fab = msp_config_pb2.FabricMSPConfig(
            name="XMSP", root_certs=[pem(root)], intermediate_certs=[pem(c) for c in intermediates]
        )
        return MSPManager.from_msp_configs(
            [msp_config_pb2.MSPConfig(config=fab.SerializeToString())]
        )

    manager([inter]).deserialize_identity(_sid("XMSP", leaf)).validate()
    with pytest.raises(MSPError, match="does not chain"):
        manager([]).deserialize_identity(_sid("XMSP", leaf)).validate()
