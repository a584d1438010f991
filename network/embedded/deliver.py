"""Deliver: blocks by SeekInfo, full, filtered or with private data (`common/deliver/deliver.go`).

The same loop serves the orderer's AtomicBroadcast/Deliver and the peer's Deliver service;
only the block source and the response wrapping differ. A request is a signed envelope holding
a SeekInfo; the creator must satisfy the channel's Readers policy.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2, events_pb2_grpc, transaction_pb2

from .channelconfig import ChannelConfig
from .msp import Identity, MSPError
from .node import HeightWatcher, PeerChannel, PeerNode
from .policies import SignedData, evaluate_signature_policy
from .protoutil import ProtoError, tx_filter, unpack_envelope

log = logging.getLogger(__name__)

Status = common_pb2.Status
MAX_BLOCK = 2**64 - 1


class DeliverError(Exception):
    """A block cannot be sent to this requester; the stream ends with an error status."""


@dataclass
class BlockSource:
    config: Callable[[], ChannelConfig]
    get_block: Callable[[int], common_pb2.Block]
    height: Callable[[], int]
    watcher: HeightWatcher
    # (block number, the request's signed data) -> private writes the requester may read
    private: Callable[[int, SignedData], dict[int, rwset_pb2.TxPvtReadWriteSet]] | None = None


# (block or None, status or None, source, the request's signed data) -> the wire response
Wrap = Callable[[common_pb2.Block | None, int | None, BlockSource, SignedData | None], Any]


def _position(pos: ab_pb2.SeekPosition, height: int) -> int:
    kind = pos.WhichOneof("Type")
    if kind == "newest":
        return height - 1
    if kind == "specified":
        return int(pos.specified.number)
    if kind == "next_commit":
        return height
    return 0  # oldest, or unset as Fabric treats it


async def deliver_blocks(
    requests: AsyncIterator[common_pb2.Envelope],
    source_for: Callable[[str], BlockSource | None],
    wrap: Wrap,
    readers: str = "/Channel/Readers",
) -> AsyncIterator[Any]:
    async for env in requests:
        try:
            payload = common_pb2.Payload.FromString(env.payload)
            chdr = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            shdr = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            seek = ab_pb2.SeekInfo.FromString(payload.data)
        except Exception as exc:
            log.warning("deliver: malformed request: %s", exc)
            yield wrap(None, Status.BAD_REQUEST, None, None)  # type: ignore[arg-type]
            continue
        source = source_for(chdr.channel_id)
        if source is None:
            yield wrap(None, Status.NOT_FOUND, None, None)  # type: ignore[arg-type]
            continue
        signed = SignedData(env.payload, shdr.creator, env.signature)
        try:
            allowed = source.config().policy_manager.evaluate(readers, [signed])
        except Exception:
            allowed = False
        if not allowed:
            log.warning("deliver: %s refused by %s", chdr.channel_id, readers)
            yield wrap(None, Status.FORBIDDEN, source, signed)
            continue
        height = source.height()
        start = _position(seek.start, height)
        stop = _position(seek.stop, height) if seek.HasField("stop") else MAX_BLOCK
        if start > stop:
            yield wrap(None, Status.BAD_REQUEST, source, signed)
            continue
        fail_if_not_ready = seek.behavior == ab_pb2.SeekInfo.FAIL_IF_NOT_READY
        n = start
        status = Status.SUCCESS
        while n <= stop:
            if n >= source.height():
                if fail_if_not_ready:
                    status = Status.NOT_FOUND
                    break
                await source.watcher.wait_above(n)
                continue
            try:
                response = wrap(source.get_block(n), None, source, signed)
            except DeliverError as exc:
                log.warning("deliver: %s block %d: %s", chdr.channel_id, n, exc)
                status = Status.INTERNAL_SERVER_ERROR
                break
            yield response
            n += 1
        yield wrap(None, status, source, signed)


def filtered_block(block: common_pb2.Block, channel_id: str) -> events_pb2.FilteredBlock:
    """Fabric's filtered block: txids, types, validation codes, events without payloads."""
    codes = tx_filter(block)
    out = events_pb2.FilteredBlock(channel_id=channel_id, number=block.header.number)
    for i, raw in enumerate(block.data.data):
        try:
            tx = unpack_envelope(raw)
        except ProtoError:
            continue
        ftx = events_pb2.FilteredTransaction(
            txid=tx.txid,
            type=tx.header_type,
            tx_validation_code=codes[i] if i < len(codes) else transaction_pb2.NOT_VALIDATED,
        )
        if tx.action is not None:
            actions = events_pb2.FilteredTransactionActions()
            event = tx.action.event()
            fca = events_pb2.FilteredChaincodeAction()
            if event is not None:
                event.payload = b""
                fca.chaincode_event.CopyFrom(event)
            actions.chaincode_actions.append(fca)
            ftx.transaction_actions.CopyFrom(actions)
        out.filtered_transactions.append(ftx)
    return out


def private_data_for(
    channel: PeerChannel, number: int, signed: SignedData
) -> dict[int, rwset_pb2.TxPvtReadWriteSet]:
    """The private writes of block `number` this peer kept, cut to what the requester may read.

    Fabric's collPolicyChecker: a collection without memberOnlyRead is sent to any channel
    reader; otherwise the request's signed data must satisfy the collection's member orgs
    policy. A collection with no definition fails the stream, as in Fabric.
    """
    kept = channel.ledger.get_private_data_for_block(number)
    if not kept:
        return {}
    requester: Identity | None = None
    try:
        requester = channel.config.msp_manager.deserialize_identity(signed.identity)
        if not requester.verify(signed.data, signed.signature):
            requester = None
    except MSPError:
        requester = None
    out: dict[int, rwset_pb2.TxPvtReadWriteSet] = {}
    for seq, txpvt in kept.items():
        cut = rwset_pb2.TxPvtReadWriteSet(data_model=txpvt.data_model)
        for ns in txpvt.ns_pvt_rwset:
            definition = channel.definition(ns.namespace)
            cols = []
            for col in ns.collection_pvt_rwset:
                static = definition.collection(col.collection_name) if definition else None
                if static is None:
                    raise DeliverError(
                        f"no collection config was found for collection {col.collection_name} "
                        f"for chaincode {ns.namespace}"
                    )
                if not static.member_only_read or (
                    requester is not None
                    and evaluate_signature_policy(
                        static.member_orgs_policy.signature_policy, [requester]
                    )
                ):
                    cols.append(col)
            if cols:
                cut.ns_pvt_rwset.add(namespace=ns.namespace).collection_pvt_rwset.extend(cols)
        if cut.ns_pvt_rwset:
            out[seq] = cut
    return out


class DeliverService(events_pb2_grpc.DeliverServicer):
    """The peer's Deliver service over its own ledgers."""

    def __init__(self, peer: PeerNode) -> None:
        self.peer = peer

    def _source(self, channel_id: str) -> BlockSource | None:
        ch = self.peer.channels.get(channel_id)
        if ch is None:
            return None
        ledger = ch.ledger
        return BlockSource(
            lambda: ledger.channel_config,
            ledger.get_block,
            lambda: ch.height,
            ch.watcher,
            lambda number, signed: private_data_for(ch, number, signed),
        )

    async def Deliver(  # noqa: N802
        self,
        request_iterator: AsyncIterator[common_pb2.Envelope],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[events_pb2.DeliverResponse]:
        def wrap(block: common_pb2.Block | None, status: int | None, _s: Any, _sd: Any) -> Any:
            if block is not None:
                return events_pb2.DeliverResponse(block=block)
            return events_pb2.DeliverResponse(status=status)

        async for r in deliver_blocks(request_iterator, self._source, wrap):
            yield r

    async def DeliverFiltered(  # noqa: N802
        self,
        request_iterator: AsyncIterator[common_pb2.Envelope],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[events_pb2.DeliverResponse]:
        def wrap(block: common_pb2.Block | None, status: int | None, s: Any, _sd: Any) -> Any:
            if block is not None:
                return events_pb2.DeliverResponse(
                    filtered_block=filtered_block(block, s.config().channel_id)
                )
            return events_pb2.DeliverResponse(status=status)

        async for r in deliver_blocks(request_iterator, self._source, wrap):
            yield r

    async def DeliverWithPrivateData(  # noqa: N802
        self,
        request_iterator: AsyncIterator[common_pb2.Envelope],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[events_pb2.DeliverResponse]:
        def wrap(
            block: common_pb2.Block | None, status: int | None, s: BlockSource, signed: Any
        ) -> Any:
            if block is not None:
                bapd = events_pb2.BlockAndPrivateData(block=block)
                pvt = s.private(block.header.number, signed) if s.private else {}
                for num, rw in pvt.items():
                    bapd.private_data_map[num].CopyFrom(rw)
                return events_pb2.DeliverResponse(block_and_private_data=bapd)
            return events_pb2.DeliverResponse(status=status)

        async for r in deliver_blocks(request_iterator, self._source, wrap):
            yield r
