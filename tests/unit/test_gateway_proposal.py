from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from test_gateway_helpers import issue, new_ca

from gateway import Identity
from gateway.commit import Status, status_from_response
from gateway.errors import CommitError
from gateway.proposal import (
    NONCE_LENGTH,
    TransactionContext,
    build_proposed_transaction,
    compute_transaction_id,
    decode_proposal,
    qualified_name,
)
from gateway.transaction import new_commit_status_request, parse_envelope


def _identity() -> Identity:
    return Identity("BSP1MSP", issue(new_ca(), "User1@bsp1").cert_pem)


def test_proposal_txid_is_sha256_of_nonce_and_creator() -> None:
    creator = _identity().creator
    ctx = TransactionContext.new(creator)
    assert len(ctx.nonce) == NONCE_LENGTH
    assert ctx.transaction_id == hashlib.sha256(ctx.nonce + creator).hexdigest()
    assert compute_transaction_id(b"n", b"c") == hashlib.sha256(b"nc").hexdigest()
    assert TransactionContext.new(creator).nonce != ctx.nonce


def test_proposal_structure_matches_fabric() -> None:
    ident = _identity()
    ctx = TransactionContext.new(ident.creator)
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    proposed = build_proposed_transaction(
        channel="bsp1-channel",
        chaincode="registry",
        transaction_name=qualified_name("RegisterPod", "registry"),
        context=ctx,
        args=["IT002E00112233", b"\x00\x01"],
        transient={"secret": "s3cr3t"},
        endorsing_organizations=["TSOMSP"],
        timestamp=when,
    )
    assert proposed.transaction_id == ctx.transaction_id
    assert list(proposed.endorsing_organizations) == ["TSOMSP"]
    assert proposed.proposal.signature == b""

    proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    ch = common_pb2.ChannelHeader.FromString(header.channel_header)
    assert ch.type == common_pb2.ENDORSER_TRANSACTION
    assert (ch.channel_id, ch.tx_id, ch.epoch) == ("bsp1-channel", ctx.transaction_id, 0)
    assert ch.timestamp.ToDatetime(tzinfo=UTC) == when
    ext = proposal_pb2.ChaincodeHeaderExtension.FromString(ch.extension)
    assert ext.chaincode_id.name == "registry"
    sh = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert (sh.creator, sh.nonce) == (ident.creator, ctx.nonce)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    assert dict(payload.TransientMap) == {"secret": b"s3cr3t"}
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    assert spec.type == chaincode_pb2.ChaincodeSpec.NODE
    assert spec.chaincode_id.name == "registry"
    assert list(spec.input.args) == [b"registry:RegisterPod", b"IT002E00112233", b"\x00\x01"]

    info = decode_proposal(proposed.proposal.proposal_bytes)
    assert info.function == "registry:RegisterPod"
    assert info.transient_keys == ("secret",)


def _prepared_envelope(channel: str, tx_id: str, result: bytes) -> Any:
    cc_action = proposal_pb2.ChaincodeAction(
        response=proposal_response_pb2.Response(status=200, payload=result)
    )
    prp = proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=b"h", extension=cc_action.SerializeToString()
    )
    cap = transaction_pb2.ChaincodeActionPayload(
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=prp.SerializeToString()
        )
    )
    tx = transaction_pb2.Transaction(
        actions=[transaction_pb2.TransactionAction(payload=cap.SerializeToString())]
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=common_pb2.ChannelHeader(
                type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel, tx_id=tx_id
            ).SerializeToString()
        ),
        data=tx.SerializeToString(),
    )
    return common_pb2.Envelope(payload=payload.SerializeToString())


def test_transaction_result_and_channel_come_from_the_envelope() -> None:
    info = parse_envelope(_prepared_envelope("bsp1-channel", "tx1", b'{"ok":true}'))
    assert (info.channel, info.transaction_id, info.result) == (
        "bsp1-channel",
        "tx1",
        b'{"ok":true}',
    )


def test_commit_status_request_names_channel_tx_and_identity() -> None:
    ident = _identity()
    signed = new_commit_status_request("ch", "tx9", ident.creator)
    req = gateway_pb2.CommitStatusRequest.FromString(signed.request)
    assert (req.channel_id, req.transaction_id, req.identity) == ("ch", "tx9", ident.creator)
    assert signed.signature == b""


def test_commit_status_invalid_raises_commit_error_with_code_name() -> None:
    response = gateway_pb2.CommitStatusResponse(result=11, block_number=7)
    status = status_from_response("tx9", response)
    assert status == Status("tx9", 11, 7)
    assert not status.successful and status.code_name == "MVCC_READ_CONFLICT"
    with pytest.raises(CommitError) as info:
        status.raise_for_status()
    assert (info.value.code, info.value.code_name, info.value.transaction_id) == (
        11,
        "MVCC_READ_CONFLICT",
        "tx9",
    )
    status_from_response("tx8", gateway_pb2.CommitStatusResponse(result=0)).raise_for_status()
