"""Test support for the gateway client tests: throwaway CAs, certs, MSP folders, blocks.

Built with `cryptography` directly so the gateway tests depend on no other package's code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2

from gateway.audit import block_data_hash, block_header_bytes, block_header_hash
from gateway.signing import ECDSASigner


@dataclass
class KeyCert:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(cn: str, org: str = "test.local") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def new_ca(cn: str = "ca.test.local") -> KeyCert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeyCert(key, cert)


def issue(ca: KeyCert, cn: str, *, sans: list[str] | None = None) -> KeyCert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if sans:
        import ipaddress

        names: list[x509.GeneralName] = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return KeyCert(key, builder.sign(ca.key, hashes.SHA256()))


def write_msp(root: Path, user: KeyCert, ca: KeyCert, *, extra_keys: int = 0) -> Path:
    """An MSP folder in cryptogen layout; `extra_keys` unrelated keys sit in the keystore too."""
    msp = root / "msp"
    (msp / "signcerts").mkdir(parents=True)
    (msp / "keystore").mkdir()
    (msp / "cacerts").mkdir()
    (msp / "signcerts" / "User1@test.local-cert.pem").write_bytes(user.cert_pem)
    (msp / "cacerts" / "ca.test.local-cert.pem").write_bytes(ca.cert_pem)
    for i in range(extra_keys):
        other = ec.generate_private_key(ec.SECP256R1())
        (msp / "keystore" / f"a{i}_sk").write_bytes(KeyCert(other, user.cert).key_pem)
    (msp / "keystore" / "priv_sk").write_bytes(user.key_pem)
    return msp


def serialized_identity(msp_id: str, kc: KeyCert) -> bytes:
    sid = identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=kc.cert_pem)
    return bytes(sid.SerializeToString())


def orderer_config_block(msp_id: str, ca: KeyCert, channel: str = "ch1") -> Any:
    """A genesis-like block 0: one CONFIG envelope with an Orderer group holding one org."""
    fabric = msp_config_pb2.FabricMSPConfig(name=msp_id, root_certs=[ca.cert_pem])
    msp = msp_config_pb2.MSPConfig(type=0, config=fabric.SerializeToString())
    config = configtx_pb2.Config(sequence=0)
    org = config.channel_group.groups["Orderer"].groups["OrdererOrg"]
    org.values["MSP"].value = msp.SerializeToString()
    env_payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=common_pb2.ChannelHeader(
                type=common_pb2.CONFIG, channel_id=channel
            ).SerializeToString()
        ),
        data=configtx_pb2.ConfigEnvelope(config=config).SerializeToString(),
    )
    envelope = common_pb2.Envelope(payload=env_payload.SerializeToString())
    return make_block(0, b"", [envelope.SerializeToString()])


def make_block(number: int, previous_hash: bytes, data: list[bytes]) -> Any:
    block = common_pb2.Block()
    block.header.number = number
    block.header.previous_hash = previous_hash
    block.data.data.extend(data)
    block.header.data_hash = block_data_hash(block.data)
    for _ in range(5):
        block.metadata.metadata.append(b"")
    return block


def sign_block(block: Any, msp_id: str, signer_kc: KeyCert) -> None:
    """Add an orderer signature as Fabric's block writer does."""
    sh = common_pb2.SignatureHeader(
        creator=serialized_identity(msp_id, signer_kc), nonce=b"n" * 24
    ).SerializeToString()
    value = common_pb2.OrdererBlockMetadata(
        last_config=common_pb2.LastConfig(index=0)
    ).SerializeToString()
    message = value + sh + block_header_bytes(block.header)
    signature = ECDSASigner(signer_kc.key)(hashlib.sha256(message).digest())
    md = common_pb2.Metadata(value=value)
    md.signatures.add(signature_header=sh, signature=signature)
    block.metadata.metadata[common_pb2.SIGNATURES] = md.SerializeToString()


def build_chain(n_blocks: int, msp_id: str, ca: KeyCert, orderer: KeyCert) -> list[Any]:
    """Block 0 (config) and n_blocks-1 signed data blocks, correctly linked."""
    blocks = [orderer_config_block(msp_id, ca)]
    for i in range(1, n_blocks):
        b = make_block(i, block_header_hash(blocks[-1].header), [f"tx-{i}".encode(), b"x" * i])
        sign_block(b, msp_id, orderer)
        blocks.append(b)
    return blocks
