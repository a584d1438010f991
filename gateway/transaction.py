"""Endorsed transactions and commit-status requests, built and read as pure functions.

After endorsement the gateway returns the transaction envelope ready for ordering
(`PreparedTransaction`); the client only signs its payload. The chaincode's result is read
back out of the first endorsed action, as fabric-gateway's transaction parser does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from gateway.errors import ProtocolError
from gateway.proposal import _parse


@dataclass(frozen=True)
class EnvelopeInfo:
    channel: str
    transaction_id: str
    result: bytes


def new_prepared_transaction(envelope: Any, transaction_id: str) -> Any:
    return gateway_pb2.PreparedTransaction(transaction_id=transaction_id, envelope=envelope)


def parse_prepared_transaction(data: bytes) -> Any:
    prepared = _parse(gateway_pb2.PreparedTransaction, data, "prepared transaction")
    if not prepared.HasField("envelope"):
        raise ProtocolError("prepared transaction has no envelope")
    return prepared


def _result_from_action(action: Any) -> bytes:
    payload = _parse(transaction_pb2.ChaincodeActionPayload, action.payload, "action payload")
    if not payload.HasField("action"):
        raise ProtocolError("chaincode action payload has no endorsed action")
    response_payload = _parse(
        proposal_response_pb2.ProposalResponsePayload,
        payload.action.proposal_response_payload,
        "proposal response payload",
    )
    cc_action = _parse(proposal_pb2.ChaincodeAction, response_payload.extension, "chaincode action")
    if not cc_action.HasField("response"):
        raise ProtocolError("chaincode action has no response")
    return bytes(cc_action.response.payload)


def parse_envelope(envelope: Any) -> EnvelopeInfo:
    """Channel, transaction id and chaincode result of an endorser transaction envelope."""
    payload = _parse(common_pb2.Payload, envelope.payload, "envelope payload")
    if not payload.HasField("header"):
        raise ProtocolError("envelope payload has no header")
    ch = _parse(common_pb2.ChannelHeader, payload.header.channel_header, "channel header")
    tx = _parse(transaction_pb2.Transaction, payload.data, "transaction")
    problems: list[str] = []
    for action in tx.actions:
        try:
            result = _result_from_action(action)
        except ProtocolError as exc:
            problems.append(str(exc))
            continue
        return EnvelopeInfo(channel=ch.channel_id, transaction_id=ch.tx_id, result=result)
    raise ProtocolError(
        f"transaction {ch.tx_id} carries no proposal response: {'; '.join(problems) or 'none'}"
    )


def new_commit_status_request(channel: str, transaction_id: str, creator: bytes) -> Any:
    """An unsigned `SignedCommitStatusRequest` for one transaction."""
    request = gateway_pb2.CommitStatusRequest(
        channel_id=channel, transaction_id=transaction_id, identity=creator
    )
    return gateway_pb2.SignedCommitStatusRequest(request=request.SerializeToString())


def parse_signed_commit_status_request(data: bytes) -> tuple[Any, Any]:
    signed = _parse(gateway_pb2.SignedCommitStatusRequest, data, "signed commit status request")
    request = _parse(gateway_pb2.CommitStatusRequest, signed.request, "commit status request")
    return signed, request


def new_submit_request(envelope: Any, channel: str, transaction_id: str) -> Any:
    return gateway_pb2.SubmitRequest(
        transaction_id=transaction_id, channel_id=channel, prepared_transaction=envelope
    )
