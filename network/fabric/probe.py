"""Readiness through the Fabric Gateway: a real submit, not a query.

Right after a fresh start a peer's gateway may not yet see the other orgs' peers through
gossip, so a query can succeed while a transaction needing those orgs' endorsements fails.
The probe therefore submits a transaction through each peer's gateway, asking for an
endorsement from every peer org of the channel, and waits for it to commit VALID.

This module speaks the Gateway gRPC API directly on `fabric_protos` (the network package
does not import the project's `gateway` client, see docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, transaction_pb2
from google.protobuf import timestamp_pb2

from .errors import FabricError

log = logging.getLogger(__name__)

# order of the P-256 group, for low-S normalisation (Fabric rejects high-S signatures)
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class Signer:
    msp_id: str
    cert_pem: bytes
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def from_files(cls, msp_id: str, cert: Path, key: Path) -> Signer:
        k = serialization.load_pem_private_key(key.read_bytes(), password=None)
        if not isinstance(k, ec.EllipticCurvePrivateKey):
            raise FabricError(f"{key}: not an ECDSA private key")
        return cls(msp_id, cert.read_bytes(), k)

    @property
    def creator(self) -> bytes:
        return identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.cert_pem
        ).SerializeToString()

    def sign(self, message: bytes) -> bytes:
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        if s > _P256_N // 2:
            s = _P256_N - s
        return encode_dss_signature(r, s)


def _proposal(
    signer: Signer, channel: str, chaincode: str, args: list[bytes]
) -> tuple[str, proposal_pb2.SignedProposal]:
    nonce = os.urandom(24)
    tx_id = hashlib.sha256(nonce + signer.creator).hexdigest()
    now = dt.datetime.now(dt.UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(now)
    chdr = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=tx_id,
        timestamp=ts,
        extension=proposal_pb2.ChaincodeHeaderExtension(
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode)
        ).SerializeToString(),
    )
    shdr = common_pb2.SignatureHeader(creator=signer.creator, nonce=nonce)
    header = common_pb2.Header(
        channel_header=chdr.SerializeToString(), signature_header=shdr.SerializeToString()
    )
    spec = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.UNDEFINED,
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
            input=chaincode_pb2.ChaincodeInput(args=args),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString())
    prop = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    raw = prop.SerializeToString()
    return tx_id, proposal_pb2.SignedProposal(proposal_bytes=raw, signature=signer.sign(raw))


def _details(exc: grpc.RpcError) -> str:
    return f"{exc.code().name}: {exc.details()}"  # type: ignore[attr-defined]


def submit(
    address: str,
    tls_ca: Path,
    signer: Signer,
    channel: str,
    chaincode: str,
    args: list[bytes],
    endorsing_orgs: list[str],
    timeout: float = 30.0,
    client_tls: tuple[Path, Path] | None = None,
) -> int:
    """Endorse, submit and wait for the commit through one gateway; returns the block number.
    `client_tls` (certificate, key) is presented where the peer requires mutual TLS.

    Raises FabricError with the gateway's message (and per-peer details) on any failure."""
    cert, key = (
        (client_tls[0].read_bytes(), client_tls[1].read_bytes()) if client_tls else (None, None)
    )
    creds = grpc.ssl_channel_credentials(
        root_certificates=tls_ca.read_bytes(), private_key=key, certificate_chain=cert
    )
    with grpc.secure_channel(address, creds) as chan:
        stub = gateway_pb2_grpc.GatewayStub(chan)
        tx_id, signed = _proposal(signer, channel, chaincode, args)
        try:
            endorsed = stub.Endorse(
                gateway_pb2.EndorseRequest(
                    transaction_id=tx_id,
                    channel_id=channel,
                    proposed_transaction=signed,
                    endorsing_organizations=endorsing_orgs,
                ),
                timeout=timeout,
            )
            env = endorsed.prepared_transaction
            env.signature = signer.sign(env.payload)
            stub.Submit(
                gateway_pb2.SubmitRequest(
                    transaction_id=tx_id, channel_id=channel, prepared_transaction=env
                ),
                timeout=timeout,
            )
            req = gateway_pb2.CommitStatusRequest(
                transaction_id=tx_id, channel_id=channel, identity=signer.creator
            ).SerializeToString()
            status = stub.CommitStatus(
                gateway_pb2.SignedCommitStatusRequest(request=req, signature=signer.sign(req)),
                timeout=timeout,
            )
        except grpc.RpcError as exc:
            raise FabricError(f"gateway {address}, {channel}/{chaincode}: {_details(exc)}") from exc
    if status.result != transaction_pb2.VALID:
        code = transaction_pb2.TxValidationCode.Name(status.result)
        raise FabricError(f"gateway {address}, {channel}/{chaincode}: transaction {tx_id} {code}")
    return int(status.block_number)


def submit_until_ready(
    address: str,
    tls_ca: Path,
    signer: Signer,
    channel: str,
    chaincode: str,
    args: list[bytes],
    endorsing_orgs: list[str],
    timeout: float = 90.0,
    on_wait: Callable[[str], None] | None = None,
    client_tls: tuple[Path, Path] | None = None,
) -> tuple[float, int]:
    """Retries `submit` until it commits; (seconds waited, block number)."""
    start = time.monotonic()
    delay = 0.5
    while True:
        try:
            block = submit(
                address,
                tls_ca,
                signer,
                channel,
                chaincode,
                args,
                endorsing_orgs,
                client_tls=client_tls,
            )
            return time.monotonic() - start, block
        except FabricError as exc:
            if time.monotonic() - start + delay > timeout:
                raise FabricError(f"not ready after {timeout:.0f}s: {exc}") from exc
            note = f"{str(exc).splitlines()[0]}; retrying in {delay:.1f}s"
            (on_wait or log.info)(note)
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)
