"""Chaincode and block event requests and their decoding, as pure functions.

Start position, in order of precedence: the checkpoint's block number (with, for chaincode
events, `after_transaction_id` so the gateway skips what the checkpoint already covers), then
`start_block`, else the next block to be committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from gateway.checkpoint import Checkpoint
from gateway.errors import EventsError, ProtocolError

# fabric-gateway seeks to the largest block number a JS number holds; Deliver treats it as
# "never stop". The same value keeps requests identical across clients.
MAX_BLOCK_NUMBER = 2**53 - 1


class BlockEventKind(Enum):
    """The three Deliver services of a peer."""

    FULL = "Deliver"
    FILTERED = "DeliverFiltered"
    WITH_PRIVATE_DATA = "DeliverWithPrivateData"


@dataclass(frozen=True)
class ChaincodeEvent:
    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes


def start_position(start_block: int | None, checkpoint: Checkpoint | None) -> Any:
    block = checkpoint.block_number if checkpoint is not None else None
    if block is None:
        block = start_block
    if block is None:
        return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    if block < 0:
        raise ValueError(f"start block {block} must be >= 0")
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=block))


def new_chaincode_events_request(
    *,
    channel: str,
    chaincode: str,
    creator: bytes,
    start_block: int | None = None,
    checkpoint: Checkpoint | None = None,
) -> Any:
    """An unsigned `gateway.SignedChaincodeEventsRequest`."""
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel,
        chaincode_id=chaincode,
        identity=creator,
        start_position=start_position(start_block, checkpoint),
    )
    if checkpoint is not None and checkpoint.transaction_id:
        request.after_transaction_id = checkpoint.transaction_id
    return gateway_pb2.SignedChaincodeEventsRequest(request=request.SerializeToString())


def new_block_events_envelope(
    *,
    channel: str,
    creator: bytes,
    start_block: int | None = None,
    stop_block: int | None = None,
    checkpoint: Checkpoint | None = None,
    tls_certificate_hash: bytes | None = None,
    when: datetime | None = None,
) -> Any:
    """An unsigned Deliver `common.Envelope` carrying a `SeekInfo`.

    `stop_block=None` streams new blocks as they are committed; a number stops after that block.
    """
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.DELIVER_SEEK_INFO, channel_id=channel, epoch=0
    )
    channel_header.timestamp.FromDatetime(when or datetime.now(UTC))
    if tls_certificate_hash:
        channel_header.tls_cert_hash = tls_certificate_hash
    seek = ab_pb2.SeekInfo(
        start=start_position(start_block, checkpoint),
        stop=ab_pb2.SeekPosition(
            specified=ab_pb2.SeekSpecified(
                number=MAX_BLOCK_NUMBER if stop_block is None else stop_block
            )
        ),
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=common_pb2.SignatureHeader(creator=creator).SerializeToString(),
        ),
        data=seek.SerializeToString(),
    )
    return common_pb2.Envelope(payload=payload.SerializeToString())


def chaincode_events_from_response(response: Any) -> Iterator[ChaincodeEvent]:
    block = int(response.block_number)
    for ev in response.events:
        yield ChaincodeEvent(
            block_number=block,
            transaction_id=ev.tx_id,
            chaincode_name=ev.chaincode_id,
            event_name=ev.event_name,
            payload=bytes(ev.payload),
        )


class DeliverEnd(Exception):
    """Raised by `block_from_deliver_response` for the final SUCCESS status of a bounded seek."""


def block_from_deliver_response(response: Any, kind: BlockEventKind) -> Any:
    """The block carried by a `DeliverResponse`.

    Raises `DeliverEnd` on the SUCCESS status that closes a bounded seek, `EventsError` on any
    other status (FORBIDDEN, NOT_FOUND, ...).
    """
    which = response.WhichOneof("Type")
    if which == "status":
        if response.status == common_pb2.SUCCESS:
            raise DeliverEnd()
        name = str(common_pb2.Status.Name(response.status))
        raise EventsError(f"{kind.value} ended with status {name} ({response.status})", code=name)
    expected = {
        BlockEventKind.FULL: "block",
        BlockEventKind.FILTERED: "filtered_block",
        BlockEventKind.WITH_PRIVATE_DATA: "block_and_private_data",
    }[kind]
    if which != expected:
        raise ProtocolError(f"{kind.value} sent a {which!r} response; expected {expected!r}")
    return getattr(response, expected)


def block_number_of(block: Any, kind: BlockEventKind) -> int:
    if kind is BlockEventKind.FILTERED:
        return int(block.number)
    if kind is BlockEventKind.WITH_PRIVATE_DATA:
        return int(block.block.header.number)
    return int(block.header.number)
