"""Fabric requests built by hand, signed by real, forged or broken identities.

The wire families need what a client library never sends: a proposal whose header is garbage
but whose signature is right, a certificate from no known CA, a signature by the wrong key.
So requests are built here from Fabric's messages, field by field, and signed by a `Signer`
that may lie about who it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MAX_BLOCK = 2**63


@dataclass(frozen=True)
class Signer:
    """Who a request says it is (`msp_id`, `cert_pem`) and the key that signs it."""

    msp_id: str
    cert_pem: bytes
    key: ec.EllipticCurvePrivateKey
    high_s: bool = False  # sign with the high-S twin of the signature (Fabric refuses it)

    @classmethod
    def from_msp(cls, msp_id: str, msp_dir: Path) -> Signer:
        cert = next((msp_dir / "signcerts").iterdir()).read_bytes()
        key = serialization.load_pem_private_key(
            next((msp_dir / "keystore").iterdir()).read_bytes(), password=None
        )
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(msp_id, cert, key)

    @property
    def creator(self) -> bytes:
        return identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.cert_pem
        ).SerializeToString()

    def sign(self, message: bytes) -> bytes:
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        low = min(s, _P256_N - s)
        return encode_dss_signature(r, _P256_N - low if self.high_s else low)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def certificate(
    subject_cn: str,
    org: str,
    key: ec.EllipticCurvePrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    issuer: x509.Name | None = None,
    *,
    expired: bool = False,
) -> bytes:
    """A client certificate (OU=client), self-signed unless an issuer is given."""
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
        ]
    )
    start, end = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (
            now - dt.timedelta(hours=1),
            now + dt.timedelta(days=30),
        )
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(issuer_key or key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def forged_signers(real: Signer, ca_dir: Path) -> dict[str, Signer]:
    """Identities that must all be refused, each lying in one way, by name."""
    ca_cert = x509.load_pem_x509_certificate(next(ca_dir.glob("*-cert.pem")).read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "priv_sk").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    cn = (
        x509.load_pem_x509_certificate(real.cert_pem)
        .subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
        .value
    )
    org = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    stranger = new_key()
    expired_key = new_key()
    return {
        "self-signed certificate": Signer(
            real.msp_id, certificate(str(cn), str(org), stranger), stranger
        ),
        "certificate signed by the right key, message by another": replace(real, key=new_key()),
        "certificate under another MSP id": replace(
            real, msp_id="TSOMSP" if real.msp_id != "TSOMSP" else "BSP1MSP"
        ),
        "expired certificate from the real CA": Signer(
            real.msp_id,
            certificate(str(cn), str(org), expired_key, ca_key, ca_cert.subject, expired=True),
            expired_key,
        ),
        "garbage instead of a certificate": replace(real, cert_pem=os.urandom(300)),
        "high-S signature": replace(real, high_s=True),
    }


# ---- proposals ---------------------------------------------------------------------------------


def proposal(
    signer: Signer,
    channel: str,
    chaincode: str,
    args: list[bytes],
    *,
    nonce: bytes | None = None,
    header_type: int = common_pb2.ENDORSER_TRANSACTION,
) -> tuple[proposal_pb2.Proposal, str]:
    nonce = nonce or os.urandom(24)
    creator = signer.creator
    txid = hashlib.sha256(nonce + creator).hexdigest()
    cid = chaincode_pb2.ChaincodeID(name=chaincode)
    chdr = common_pb2.ChannelHeader(
        type=header_type,
        channel_id=channel,
        tx_id=txid,
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=cid).SerializeToString(),
    )
    chdr.timestamp.FromDatetime(dt.datetime.now(dt.UTC))
    header = common_pb2.Header(
        channel_header=chdr.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(
            creator=creator, nonce=nonce
        ).SerializeToString(),
    )
    spec = chaincode_pb2.ChaincodeSpec(
        type=chaincode_pb2.ChaincodeSpec.NODE,
        chaincode_id=cid,
        input=chaincode_pb2.ChaincodeInput(args=args),
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=spec).SerializeToString()
    )
    prop = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    return prop, txid


def signed(signer: Signer, prop: proposal_pb2.Proposal | bytes) -> proposal_pb2.SignedProposal:
    raw = prop if isinstance(prop, bytes) else prop.SerializeToString()
    return proposal_pb2.SignedProposal(proposal_bytes=raw, signature=signer.sign(raw))


def evaluate_request(channel: str, txid: str, sp: proposal_pb2.SignedProposal) -> bytes:
    return gateway_pb2.EvaluateRequest(
        transaction_id=txid, channel_id=channel, proposed_transaction=sp
    ).SerializeToString()


def endorse_request(channel: str, txid: str, sp: proposal_pb2.SignedProposal) -> bytes:
    return gateway_pb2.EndorseRequest(
        transaction_id=txid, channel_id=channel, proposed_transaction=sp
    ).SerializeToString()


def submit_request(channel: str, txid: str, env: common_pb2.Envelope) -> bytes:
    return gateway_pb2.SubmitRequest(
        transaction_id=txid, channel_id=channel, prepared_transaction=env
    ).SerializeToString()


def commit_status_request(
    signer: Signer, channel: str, txid: str, *, inner: bytes | None = None
) -> bytes:
    req = (
        inner
        or gateway_pb2.CommitStatusRequest(
            transaction_id=txid, channel_id=channel, identity=signer.creator
        ).SerializeToString()
    )
    return gateway_pb2.SignedCommitStatusRequest(
        request=req, signature=signer.sign(req)
    ).SerializeToString()


def chaincode_events_request(
    signer: Signer, channel: str, chaincode: str, *, inner: bytes | None = None
) -> bytes:
    req = (
        inner
        or gateway_pb2.ChaincodeEventsRequest(
            channel_id=channel,
            chaincode_id=chaincode,
            identity=signer.creator,
            start_position=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=0)),
        ).SerializeToString()
    )
    return gateway_pb2.SignedChaincodeEventsRequest(
        request=req, signature=signer.sign(req)
    ).SerializeToString()


# ---- envelopes -----------------------------------------------------------------------------------


def envelope(
    signer: Signer,
    channel: str,
    header_type: int,
    data: bytes,
    *,
    channel_header: bytes | None = None,
    signature_header: bytes | None = None,
) -> common_pb2.Envelope:
    chdr = channel_header
    if chdr is None:
        ch = common_pb2.ChannelHeader(type=header_type, channel_id=channel)
        ch.timestamp.FromDatetime(dt.datetime.now(dt.UTC))
        chdr = ch.SerializeToString()
    shdr = (
        signature_header
        or common_pb2.SignatureHeader(
            creator=signer.creator, nonce=os.urandom(24)
        ).SerializeToString()
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(channel_header=chdr, signature_header=shdr), data=data
    ).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=signer.sign(payload))


def seek_info(start: int = 0, stop: int = 0) -> bytes:
    return ab_pb2.SeekInfo(
        start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)),
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=stop)),
        behavior=ab_pb2.SeekInfo.FAIL_IF_NOT_READY,
    ).SerializeToString()


def deliver_envelope(
    signer: Signer, channel: str, *, data: bytes | None = None
) -> common_pb2.Envelope:
    return envelope(
        signer, channel, common_pb2.DELIVER_SEEK_INFO, seek_info() if data is None else data
    )
