"""The ordering service: AtomicBroadcast Broadcast/Deliver, block cutting, in-process delivery.

One `ChannelChain` per channel does what a single Raft orderer does for it: check each
envelope (size, signature, /Channel/Writers), queue it in the block cutter, cut a block on
MaxMessageCount / PreferredMaxBytes or when BatchTimeout passes, sign it, append it to the
orderer's own block store, and hand it to every peer joined to the channel, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc

from .blockcutter import BlockCutter, MessageTooLarge
from .blockfactory import BlockFactory
from .blockstore import BlockStore
from .channelconfig import ChannelConfig, channel_id_of_block
from .deliver import BlockSource, deliver_blocks
from .endorser import signed_data_satisfies
from .msp import SigningIdentity
from .node import HeightWatcher, PeerChannel, SerialWorker
from .policies import SignedData
from .tls import ServerTLS

log = logging.getLogger(__name__)

Status = common_pb2.Status


_Parsed = tuple[common_pb2.Envelope, common_pb2.Payload, common_pb2.ChannelHeader]


def parse_envelope(env_bytes: bytes) -> _Parsed:
    env = common_pb2.Envelope.FromString(env_bytes)
    payload = common_pb2.Payload.FromString(env.payload)
    return env, payload, common_pb2.ChannelHeader.FromString(payload.header.channel_header)


def broadcast_check(
    config: ChannelConfig, env_bytes: bytes, parsed: _Parsed | None = None
) -> tuple[int, str, int]:
    """Fabric's msgprocessor for a normal message (`orderer/common/msgprocessor/standardchannel`):
    the size against AbsoluteMaxBytes, the channel, no config update, then the channel's
    Writers policy over the envelope. (status, info, message size)."""
    try:
        env, payload, chdr = parsed or parse_envelope(env_bytes)
        shdr = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
    except Exception as exc:
        return Status.BAD_REQUEST, f"bad envelope: {exc}", 0
    size = len(env.payload) + len(env.signature)
    if size > config.absolute_max_bytes:
        return Status.BAD_REQUEST, str(MessageTooLarge.of(size, config.absolute_max_bytes)), size
    if chdr.channel_id != config.channel_id:
        return (
            Status.BAD_REQUEST,
            f"channel {chdr.channel_id!r} is not {config.channel_id!r}",
            size,
        )
    if chdr.type == common_pb2.CONFIG_UPDATE:
        return (
            Status.BAD_REQUEST,
            f"channel {config.channel_id}: config updates are not supported by the embedded "
            "engine's orderer; change network/topology.yaml and recreate the sandbox",
            size,
        )
    signed = SignedData(env.payload, shdr.creator, env.signature)
    try:
        ok = signed_data_satisfies(config, "/Channel/Writers", signed)
    except Exception as exc:
        ok = False
        log.debug("writers check failed: %s", exc)
    if not ok:
        return (
            Status.FORBIDDEN,
            "implicit policy evaluation failed - 0 sub-policies were satisfied, but this "
            "policy requires 1 of the 'Writers' sub-policies to be satisfied",
            size,
        )
    return Status.SUCCESS, "", size


class ChannelChain:
    """One channel's ordering: cutter, factory, store and the peers to deliver to."""

    def __init__(
        self,
        genesis: common_pb2.Block,
        directory: Path,
        signer: SigningIdentity,
        *,
        one_tx_per_block: bool = False,
    ) -> None:
        self.channel_id = channel_id_of_block(genesis)
        self.config = ChannelConfig.from_block(genesis, self.channel_id)
        self.store = BlockStore(directory)
        if self.store.height == 0:
            self.store.append(genesis)
        self.factory = BlockFactory(self.channel_id, signer, self.store.get(self.store.height - 1))
        c = self.config
        self.cutter = BlockCutter(
            c.max_message_count,
            c.preferred_max_bytes,
            c.absolute_max_bytes,
            one_tx_per_block=one_tx_per_block,
        )
        self.peers: list[PeerChannel] = []
        self.watcher = HeightWatcher(lambda: self.store.height)
        self._timer: asyncio.TimerHandle | None = None
        # Signing, appending (fsync) and handing blocks to the peers happen on this thread;
        # the event loop only cuts batches.
        self._writer: SerialWorker[list[bytes]] = SerialWorker(
            f"orderer-{self.channel_id}", self._write
        )

    @property
    def height(self) -> int:
        return self.store.height

    def get_block(self, number: int) -> common_pb2.Block:
        return self.store.get(number)

    def catch_up(self) -> None:
        """After a crash, deliver blocks the orderer has and a peer missed."""
        for peer in self.peers:
            missed = range(peer.ledger.height, self.store.height)
            if missed:
                log.info(
                    "%s: %s missed blocks %d..%d of the orderer; committing them",
                    peer.peer.name,
                    self.channel_id,
                    missed.start,
                    missed.stop - 1,
                )
            for n in missed:
                peer.commit(self.store.get(n))

    def check(self, env_bytes: bytes, parsed: _Parsed | None = None) -> tuple[int, str]:
        """Fabric's msgprocessor: size, then the channel Writers policy over the envelope."""
        status, info, _ = broadcast_check(self.config, env_bytes, parsed)
        return status, info

    async def order(self, env_bytes: bytes, parsed: _Parsed | None = None) -> tuple[int, str]:
        status, info, size = broadcast_check(self.config, env_bytes, parsed)
        if status == Status.SUCCESS:
            self.enqueue(env_bytes, size)
        return status, info

    def enqueue(self, env_bytes: bytes, size: int) -> None:
        """Order an envelope that passed `broadcast_check` (here, or in the peer process that
        submitted it). On the event loop's thread, which owns the cutter and its timer."""
        batches, pending = self.cutter.ordered(env_bytes, size)
        for batch in batches:
            self._emit(batch)
        if pending and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.config.batch_timeout, self._on_timeout)
        elif not pending and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self) -> None:
        self._timer = None
        batch = self.cutter.cut()
        if batch:
            self._emit(batch)

    async def flush(self) -> None:
        """Cut what is pending now instead of at BatchTimeout (the engine's own start-up txs)."""
        if self._timer is not None:
            self._timer.cancel()
        self._on_timeout()

    def _emit(self, batch: list[bytes]) -> None:
        self._writer.submit(batch)

    def _write(self, batch: list[bytes]) -> None:
        block = self.factory.make_block(batch)
        self.store.append(block)
        self.watcher.notify()
        for peer in self.peers:
            peer.deliver(block)

    def stop_timer(self) -> None:
        """No BatchTimeout cut from now on: envelopes not yet in a block are dropped at stop."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Write the batches already cut, then close the store (the peers commit them)."""
        self.stop_timer()
        self._writer.stop()
        self.store.close()


class Orderer:
    """The ordering node: every channel's chain."""

    def __init__(
        self, name: str, address: str, chains: dict[str, ChannelChain], tls: ServerTLS
    ) -> None:
        self.name = name
        self.address = address
        self.chains = chains
        self.tls = tls

    async def broadcast(self, env_bytes: bytes) -> tuple[int, str]:
        try:
            parsed = parse_envelope(env_bytes)
        except Exception as exc:
            return Status.BAD_REQUEST, f"bad envelope: {exc}"
        chdr = parsed[2]
        chain = self.chains.get(chdr.channel_id)
        if chain is None:
            return Status.NOT_FOUND, f"channel {chdr.channel_id} not found"
        return await chain.order(env_bytes, parsed)


class AtomicBroadcastService(ab_pb2_grpc.AtomicBroadcastServicer):
    def __init__(self, orderer: Orderer) -> None:
        self.orderer = orderer

    async def Broadcast(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[common_pb2.Envelope],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[ab_pb2.BroadcastResponse]:
        async for env in request_iterator:
            status, info = await self.orderer.broadcast(env.SerializeToString())
            yield ab_pb2.BroadcastResponse(status=status, info=info)

    async def Deliver(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[common_pb2.Envelope],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[ab_pb2.DeliverResponse]:
        def source(channel_id: str) -> BlockSource | None:
            chain = self.orderer.chains.get(channel_id)
            if chain is None:
                return None
            return BlockSource(
                lambda: chain.config, chain.get_block, lambda: chain.height, chain.watcher
            )

        async for resp in deliver_blocks(request_iterator, source, _orderer_response):
            yield resp


def _orderer_response(
    block: common_pb2.Block | None, status: int | None, _source: BlockSource, _signed: object
) -> ab_pb2.DeliverResponse:
    if block is not None:
        return ab_pb2.DeliverResponse(block=block)
    return ab_pb2.DeliverResponse(status=status)
