"""The async gateway: owns the gRPC channel; everything below it is a cheap handle."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from gateway.aio.events import BlockEventsRequest, ChaincodeEventsRequest
from gateway.aio.flow import Commit, Proposal, Transaction
from gateway.aio.network import Network
from gateway.aio.transport import GatewayTransport, TlsSettings
from gateway.errors import IdentityError
from gateway.events import BlockEventKind
from gateway.identity import Identity, SigningIdentity
from gateway.options import Timeouts
from gateway.proposal import decode_proposal, parse_proposed_transaction
from gateway.signing import Hash, Signer, sha256
from gateway.transaction import parse_prepared_transaction, parse_signed_commit_status_request


def _read(value: bytes | str | Path | None, what: str) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise IdentityError(f"{what} {value} cannot be read: {exc.strerror}") from exc


class Gateway:
    """A connection to one Fabric gateway peer for one client identity."""

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        timeouts: Timeouts,
        tls_certificate_hash: bytes | None = None,
    ) -> None:
        self._transport = transport
        self._signing = signing
        self.timeouts = timeouts
        self._tls_hash = tls_certificate_hash

    @property
    def identity(self) -> Identity:
        return self._signing.identity

    def sign_message(self, message: bytes) -> bytes:
        """This identity's signature over `message` (its SHA-256), as it signs proposals: for
        requests between organisations that do not go through the ledger."""
        return self._signing.sign(self._signing.hash(message))

    def get_network(self, channel: str) -> Network:
        return Network(self._transport, self._signing, channel, self.timeouts, self._tls_hash)

    # -- offline signing: rebuild objects from their bytes, optionally with a signature -------

    def new_proposal(self, data: bytes, signature: bytes | None = None) -> Proposal:
        proposed = parse_proposed_transaction(data)
        channel = decode_proposal(proposed.proposal.proposal_bytes).channel
        proposal = Proposal(self._transport, self._signing, channel, proposed, self.timeouts)
        if signature is not None:
            proposal.set_signature(signature)
        return proposal

    def new_signed_proposal(self, data: bytes, signature: bytes) -> Proposal:
        return self.new_proposal(data, signature)

    def new_transaction(self, data: bytes, signature: bytes | None = None) -> Transaction:
        tx = Transaction(
            self._transport, self._signing, parse_prepared_transaction(data), self.timeouts
        )
        if signature is not None:
            tx.set_signature(signature)
        return tx

    def new_signed_transaction(self, data: bytes, signature: bytes) -> Transaction:
        return self.new_transaction(data, signature)

    def new_commit(self, data: bytes, signature: bytes | None = None) -> Commit:
        signed, request = parse_signed_commit_status_request(data)
        commit = Commit(
            self._transport, self._signing, request.transaction_id, signed, self.timeouts
        )
        if signature is not None:
            commit.set_signature(signature)
        return commit

    def new_signed_commit(self, data: bytes, signature: bytes) -> Commit:
        return self.new_commit(data, signature)

    def new_chaincode_events_request(
        self, data: bytes, signature: bytes | None = None
    ) -> ChaincodeEventsRequest:
        signed = gateway_pb2.SignedChaincodeEventsRequest()
        signed.ParseFromString(data)
        request = ChaincodeEventsRequest(self._transport, self._signing, signed)
        if signature is not None:
            request.set_signature(signature)
        return request

    def new_signed_chaincode_events_request(
        self, data: bytes, signature: bytes
    ) -> ChaincodeEventsRequest:
        return self.new_chaincode_events_request(data, signature)

    def new_block_events_request(
        self,
        data: bytes,
        signature: bytes | None = None,
        kind: BlockEventKind = BlockEventKind.FULL,
    ) -> BlockEventsRequest:
        envelope = common_pb2.Envelope()
        envelope.ParseFromString(data)
        request = BlockEventsRequest(self._transport, self._signing, envelope, kind)
        if signature is not None:
            request.set_signature(signature)
        return request

    def new_signed_block_events_request(
        self, data: bytes, signature: bytes, kind: BlockEventKind = BlockEventKind.FULL
    ) -> BlockEventsRequest:
        return self.new_block_events_request(data, signature, kind)

    # -- lifetime -------------------------------------------------------------------------------

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def connect(
    endpoint: str,
    identity: Identity,
    signer: Signer | None = None,
    *,
    tls_root_certificates: bytes | str | Path | None = None,
    hostname_override: str | None = None,
    client_certificate: bytes | str | Path | None = None,
    client_key: bytes | str | Path | None = None,
    insecure: bool = False,
    hash: Hash = sha256,
    timeouts: Timeouts | None = None,
) -> Gateway:
    """Open a gateway connection (call inside the event loop that will use it).

    TLS is required: pass the peer's TLS CA (`tls_root_certificates`), and `hostname_override`
    when the address (127.0.0.1) differs from the certificate's host name. `insecure=True`
    allows plain text, for peers started without TLS only.
    """
    root = _read(tls_root_certificates, "TLS CA certificate")
    if root is None and not insecure:
        raise IdentityError(
            f"gateway {endpoint}: TLS needs tls_root_certificates (the peer's TLS CA); "
            "pass insecure=True only for a peer without TLS"
        )
    tls = (
        None
        if root is None
        else TlsSettings(
            root_certificates=root,
            hostname_override=hostname_override,
            client_certificate=_read(client_certificate, "TLS client certificate"),
            client_key=_read(client_key, "TLS client key"),
        )
    )
    tls_hash = None
    if tls is not None and tls.client_certificate:
        # Deliver binds the request to the mutual-TLS session by this hash of the client cert.
        cert = x509.load_pem_x509_certificate(tls.client_certificate)
        tls_hash = sha256(cert.public_bytes(serialization.Encoding.DER))
    transport = GatewayTransport.open(endpoint, tls)
    signing = SigningIdentity(identity, signer, hash)
    return Gateway(transport, signing, timeouts or Timeouts(), tls_certificate_hash=tls_hash)
