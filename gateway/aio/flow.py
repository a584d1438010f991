"""The fine-grained flow, async: proposal -> endorse -> transaction -> submit -> commit status.

Every object is signable offline: `to_bytes()` travels to a signer, `digest()` is what it signs,
and the gateway's `new_signed_*(bytes, signature)` rebuilds the object with the signature. An
object signs itself with the gateway's signer only when it has no signature yet.
"""

from __future__ import annotations

import math
from typing import Any

from gateway.aio.transport import GatewayTransport
from gateway.commit import Status, status_from_response
from gateway.errors import ProtocolError
from gateway.identity import SigningIdentity
from gateway.options import Timeouts
from gateway.proposal import new_endorse_request, new_evaluate_request
from gateway.transaction import (
    new_commit_status_request,
    new_prepared_transaction,
    new_submit_request,
    parse_envelope,
)


def pick_timeout(timeout: float | None, default: float | None) -> float | None:
    """None takes the gateway's default for the step; `math.inf` means no deadline."""
    if timeout is None:
        return default
    return None if math.isinf(timeout) else timeout


class Proposal:
    """A transaction proposal: evaluate it (query) or endorse it (for submission)."""

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        channel: str,
        proposed: Any,
        timeouts: Timeouts,
    ) -> None:
        self._transport = transport
        self._signing = signing
        self._channel = channel
        self._proposed = proposed
        self._timeouts = timeouts

    @property
    def transaction_id(self) -> str:
        return str(self._proposed.transaction_id)

    @property
    def channel(self) -> str:
        return self._channel

    def to_bytes(self) -> bytes:
        """The serialized `gateway.ProposedTransaction` (signature included once set)."""
        return bytes(self._proposed.SerializeToString())

    def digest(self) -> bytes:
        """What the creator signs: the hash of the proposal bytes."""
        return self._signing.hash(self._proposed.proposal.proposal_bytes)

    @property
    def signed(self) -> bool:
        return len(self._proposed.proposal.signature) > 0

    def set_signature(self, signature: bytes) -> None:
        self._proposed.proposal.signature = signature

    def _sign(self) -> None:
        if not self.signed:
            self.set_signature(self._signing.sign(self.digest()))

    async def evaluate(self, *, timeout: float | None = None) -> bytes:
        """Run the transaction on one peer and return its result; nothing is recorded."""
        self._sign()
        request = new_evaluate_request(self._proposed, self._channel)
        response = await self._transport.evaluate(
            request, pick_timeout(timeout, self._timeouts.evaluate)
        )
        return bytes(response.result.payload)

    async def endorse(self, *, timeout: float | None = None) -> Transaction:
        """Collect endorsements satisfying the chaincode's policy; returns the transaction."""
        self._sign()
        request = new_endorse_request(self._proposed, self._channel)
        response = await self._transport.endorse(
            request, pick_timeout(timeout, self._timeouts.endorse)
        )
        if not response.HasField("prepared_transaction"):
            raise ProtocolError(f"endorse of {self.transaction_id} returned no transaction")
        prepared = new_prepared_transaction(response.prepared_transaction, self.transaction_id)
        return Transaction(self._transport, self._signing, prepared, self._timeouts)


class Transaction:
    """An endorsed transaction, ready to be signed and sent for ordering."""

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        prepared: Any,
        timeouts: Timeouts,
    ) -> None:
        self._transport = transport
        self._signing = signing
        self._prepared = prepared
        self._timeouts = timeouts
        info = parse_envelope(prepared.envelope)
        self._channel = info.channel
        self._result = info.result

    @property
    def transaction_id(self) -> str:
        return str(self._prepared.transaction_id)

    @property
    def result(self) -> bytes:
        """The chaincode's return value, as the endorsing peers computed it."""
        return self._result

    def to_bytes(self) -> bytes:
        """The serialized `gateway.PreparedTransaction`."""
        return bytes(self._prepared.SerializeToString())

    def digest(self) -> bytes:
        return self._signing.hash(self._prepared.envelope.payload)

    @property
    def signed(self) -> bool:
        return len(self._prepared.envelope.signature) > 0

    def set_signature(self, signature: bytes) -> None:
        self._prepared.envelope.signature = signature

    async def submit(self, *, timeout: float | None = None) -> Commit:
        """Send to the orderer; returns at once with a `Commit` to wait on."""
        if not self.signed:
            self.set_signature(self._signing.sign(self.digest()))
        request = new_submit_request(self._prepared.envelope, self._channel, self.transaction_id)
        await self._transport.submit(request, pick_timeout(timeout, self._timeouts.submit))
        signed_request = new_commit_status_request(
            self._channel, self.transaction_id, self._signing.creator
        )
        return Commit(
            self._transport,
            self._signing,
            self.transaction_id,
            signed_request,
            self._timeouts,
            result=self._result,
        )


class Commit:
    """A submitted transaction whose commit status can be awaited."""

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        transaction_id: str,
        signed_request: Any,
        timeouts: Timeouts,
        result: bytes | None = None,
    ) -> None:
        self._transport = transport
        self._signing = signing
        self._tx = transaction_id
        self._signed_request = signed_request
        self._timeouts = timeouts
        self._result = result

    @property
    def transaction_id(self) -> str:
        return self._tx

    @property
    def result(self) -> bytes | None:
        """The chaincode result when this commit came from `submit` (None when rebuilt)."""
        return self._result

    def to_bytes(self) -> bytes:
        """The serialized `gateway.SignedCommitStatusRequest`."""
        return bytes(self._signed_request.SerializeToString())

    def digest(self) -> bytes:
        return self._signing.hash(self._signed_request.request)

    @property
    def signed(self) -> bool:
        return len(self._signed_request.signature) > 0

    def set_signature(self, signature: bytes) -> None:
        self._signed_request.signature = signature

    async def get_status(self, *, timeout: float | None = None) -> Status:
        """Wait until the transaction is in a block; returns how it was validated."""
        if not self.signed:
            self.set_signature(self._signing.sign(self.digest()))
        response = await self._transport.commit_status(
            self._signed_request, self._tx, pick_timeout(timeout, self._timeouts.commit_status)
        )
        return status_from_response(self._tx, response)
