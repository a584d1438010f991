"""Transaction proposals, built and read as pure functions (no I/O).

Byte for byte the structure that fabric-gateway's proposal builder makes:

    ProposedTransaction{transaction_id, endorsing_organizations,
      proposal: SignedProposal{signature, proposal_bytes: Proposal{
        header: Header{
          channel_header: ChannelHeader{type ENDORSER_TRANSACTION, channel_id, tx_id, timestamp,
                                        epoch 0, extension: ChaincodeHeaderExtension{chaincode_id}},
          signature_header: SignatureHeader{creator: SerializedIdentity, nonce: 24 random bytes}},
        payload: ChaincodeProposalPayload{
          input: ChaincodeInvocationSpec{ChaincodeSpec{type NODE, chaincode_id, input: args}},
          TransientMap}}}}

txid = hex(sha256(nonce + creator)). `ChaincodeSpec.type` is NODE as the Node client sets it
(the Go client leaves it UNDEFINED); peers ignore it for invocations.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from gateway.errors import ProtocolError

NONCE_LENGTH = 24

Arg = str | bytes


def as_bytes(value: Arg) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def compute_transaction_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction id: hex SHA-256 of the nonce followed by the creator bytes."""
    return hashlib.sha256(nonce + creator).hexdigest()


@dataclass(frozen=True)
class TransactionContext:
    """Nonce, creator and the transaction id derived from them."""

    creator: bytes
    nonce: bytes
    transaction_id: str

    @classmethod
    def new(cls, creator: bytes, nonce: bytes | None = None) -> TransactionContext:
        nonce = os.urandom(NONCE_LENGTH) if nonce is None else nonce
        return cls(creator, nonce, compute_transaction_id(nonce, creator))

    def signature_header(self) -> Any:
        return common_pb2.SignatureHeader(creator=self.creator, nonce=self.nonce)


def qualified_name(transaction_name: str, contract_name: str | None) -> str:
    """`contract:function` for a named contract, as Fabric's contract APIs route calls."""
    return f"{contract_name}:{transaction_name}" if contract_name else transaction_name


def _timestamp(when: datetime | None) -> Any:
    ts = common_pb2.ChannelHeader().timestamp  # a fresh google.protobuf.Timestamp
    ts.FromDatetime(when or datetime.now(UTC))
    return ts


def build_proposed_transaction(
    *,
    channel: str,
    chaincode: str,
    transaction_name: str,
    context: TransactionContext,
    args: Sequence[Arg] = (),
    transient: Mapping[str, Arg] | None = None,
    endorsing_organizations: Sequence[str] = (),
    timestamp: datetime | None = None,
) -> Any:
    """An unsigned `gateway.ProposedTransaction` for one chaincode invocation."""
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode)
    extension = proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=context.transaction_id,
        timestamp=_timestamp(timestamp),
        epoch=0,
        extension=extension.SerializeToString(),
    )
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=context.signature_header().SerializeToString(),
    )
    spec = chaincode_pb2.ChaincodeSpec(
        type=chaincode_pb2.ChaincodeSpec.NODE,
        chaincode_id=chaincode_id,
        input=chaincode_pb2.ChaincodeInput(
            args=[as_bytes(transaction_name), *(as_bytes(a) for a in args)]
        ),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=spec)
    payload = proposal_pb2.ChaincodeProposalPayload(input=invocation.SerializeToString())
    for key, value in (transient or {}).items():
        payload.TransientMap[key] = as_bytes(value)
    proposal = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    return gateway_pb2.ProposedTransaction(
        transaction_id=context.transaction_id,
        proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
        endorsing_organizations=list(endorsing_organizations),
    )


@dataclass(frozen=True)
class ProposalInfo:
    """What a proposal says, decoded (transient values are not kept, only their keys)."""

    transaction_id: str
    channel: str
    chaincode: str
    timestamp: datetime
    creator: bytes
    nonce: bytes
    args: tuple[bytes, ...]
    transient_keys: tuple[str, ...] = field(default=())

    @property
    def function(self) -> str:
        return self.args[0].decode(errors="replace") if self.args else ""


def _parse(message_cls: Any, data: bytes, what: str) -> Any:
    msg = message_cls()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError
        raise ProtocolError(f"{what} does not decode as {message_cls.__name__}: {exc}") from exc
    return msg


def decode_proposal(proposal_bytes: bytes) -> ProposalInfo:
    """Decode `SignedProposal.proposal_bytes` into its fields."""
    proposal = _parse(proposal_pb2.Proposal, proposal_bytes, "proposal")
    header = _parse(common_pb2.Header, proposal.header, "proposal header")
    ch = _parse(common_pb2.ChannelHeader, header.channel_header, "channel header")
    sh = _parse(common_pb2.SignatureHeader, header.signature_header, "signature header")
    ext = _parse(proposal_pb2.ChaincodeHeaderExtension, ch.extension, "header extension")
    payload = _parse(proposal_pb2.ChaincodeProposalPayload, proposal.payload, "proposal payload")
    invocation = _parse(chaincode_pb2.ChaincodeInvocationSpec, payload.input, "invocation spec")
    return ProposalInfo(
        transaction_id=ch.tx_id,
        channel=ch.channel_id,
        chaincode=ext.chaincode_id.name,
        timestamp=ch.timestamp.ToDatetime(tzinfo=UTC),
        creator=bytes(sh.creator),
        nonce=bytes(sh.nonce),
        args=tuple(bytes(a) for a in invocation.chaincode_spec.input.args),
        transient_keys=tuple(sorted(payload.TransientMap.keys())),
    )


def parse_proposed_transaction(data: bytes) -> Any:
    """A `ProposedTransaction` from its bytes (offline signing: bytes travel, then come back)."""
    proposed = _parse(gateway_pb2.ProposedTransaction, data, "proposed transaction")
    if not proposed.HasField("proposal"):
        raise ProtocolError("proposed transaction has no signed proposal")
    return proposed


def new_evaluate_request(proposed: Any, channel: str) -> Any:
    return gateway_pb2.EvaluateRequest(
        transaction_id=proposed.transaction_id,
        channel_id=channel,
        proposed_transaction=proposed.proposal,
        target_organizations=list(proposed.endorsing_organizations),
    )


def new_endorse_request(proposed: Any, channel: str) -> Any:
    return gateway_pb2.EndorseRequest(
        transaction_id=proposed.transaction_id,
        channel_id=channel,
        proposed_transaction=proposed.proposal,
        endorsing_organizations=list(proposed.endorsing_organizations),
    )
