"""A channel, async: contracts, chaincode and block events, and ledger queries through qscc."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from fabric_protos.common import common_pb2

from gateway.aio.contract import Contract
from gateway.aio.events import BlockEventsRequest, ChaincodeEventsRequest, EventStream
from gateway.aio.transport import GatewayTransport
from gateway.audit import ChainReport, block_header_hash, orderer_ca_certificates, verify_chain
from gateway.checkpoint import Checkpoint
from gateway.events import (
    BlockEventKind,
    ChaincodeEvent,
    new_block_events_envelope,
    new_chaincode_events_request,
)
from gateway.identity import SigningIdentity
from gateway.ledger import (
    ChainInfo,
    TransactionRecord,
    decode_chain_info,
    decode_processed_transaction,
)
from gateway.options import Timeouts

QSCC = "qscc"
CSCC = "cscc"


class Network:
    """Cheap handle on one channel through the gateway peer."""

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        channel: str,
        timeouts: Timeouts,
        tls_certificate_hash: bytes | None = None,
    ) -> None:
        self._transport = transport
        self._signing = signing
        self.name = channel
        self._timeouts = timeouts
        self._tls_hash = tls_certificate_hash

    def get_contract(self, chaincode: str, contract_name: str | None = None) -> Contract:
        return Contract(
            self._transport, self._signing, self.name, chaincode, contract_name, self._timeouts
        )

    # -- events -------------------------------------------------------------------------------

    def new_chaincode_events_request(
        self,
        chaincode: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> ChaincodeEventsRequest:
        signed = new_chaincode_events_request(
            channel=self.name,
            chaincode=chaincode,
            creator=self._signing.creator,
            start_block=start_block,
            checkpoint=checkpoint,
        )
        return ChaincodeEventsRequest(self._transport, self._signing, signed)

    async def chaincode_events(
        self,
        chaincode: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[ChaincodeEvent]:
        """Events emitted by committed valid transactions of `chaincode`, in commit order."""
        request = self.new_chaincode_events_request(
            chaincode, start_block=start_block, checkpoint=checkpoint
        )
        return await request.events(timeout=timeout)

    def new_block_events_request(
        self,
        kind: BlockEventKind = BlockEventKind.FULL,
        *,
        start_block: int | None = None,
        stop_block: int | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> BlockEventsRequest:
        envelope = new_block_events_envelope(
            channel=self.name,
            creator=self._signing.creator,
            start_block=start_block,
            stop_block=stop_block,
            checkpoint=checkpoint,
            tls_certificate_hash=self._tls_hash,
        )
        return BlockEventsRequest(self._transport, self._signing, envelope, kind)

    async def block_events(
        self,
        kind: BlockEventKind = BlockEventKind.FULL,
        *,
        start_block: int | None = None,
        stop_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[Any]:
        """Blocks as committed (`common.Block`, or filtered / with private data by `kind`)."""
        request = self.new_block_events_request(
            kind, start_block=start_block, stop_block=stop_block, checkpoint=checkpoint
        )
        return await request.events(timeout=timeout)

    # -- ledger -------------------------------------------------------------------------------

    async def _qscc(self, function: str, *args: str) -> bytes:
        return await self.get_contract(QSCC).evaluate_transaction(function, self.name, *args)

    async def get_chain_info(self) -> ChainInfo:
        return decode_chain_info(await self._qscc("GetChainInfo"))

    async def get_block(self, number: int) -> Any:
        """The `common.Block` at `number` (qscc GetBlockByNumber)."""
        block = common_pb2.Block()
        block.ParseFromString(await self._qscc("GetBlockByNumber", str(number)))
        return block

    async def get_config_block(self) -> Any:
        """The channel's latest configuration `common.Block` (cscc GetConfigBlock)."""
        block = common_pb2.Block()
        raw = await self.get_contract(CSCC).evaluate_transaction("GetConfigBlock", self.name)
        block.ParseFromString(raw)
        return block

    async def get_block_by_transaction_id(self, transaction_id: str) -> Any:
        """The `common.Block` holding the transaction (qscc GetBlockByTxID)."""
        block = common_pb2.Block()
        block.ParseFromString(await self._qscc("GetBlockByTxID", transaction_id))
        return block

    async def get_transaction(self, transaction_id: str) -> TransactionRecord:
        """A committed transaction with its validation code (qscc GetTransactionByID)."""
        return decode_processed_transaction(await self._qscc("GetTransactionByID", transaction_id))

    async def audit_chain(self, start: int = 0, stop: int | None = None) -> ChainReport:
        """Fetch blocks `start..stop` and verify hashes, links and orderer signatures locally."""
        blocks = [block async for block in self.iter_blocks(start, stop)]
        anchor = None
        cas = None
        if start > 0:
            # A run starting mid-chain is anchored on the previous header; the orderer CAs come
            # from the genesis block (config updates inside the run still take effect).
            anchor = block_header_hash((await self.get_block(start - 1)).header)
            cas = orderer_ca_certificates(await self.get_block(0))
        return verify_chain(blocks, orderer_cas=cas, previous_header_hash=anchor)

    async def iter_blocks(
        self, start: int = 0, stop: int | None = None
    ) -> AsyncGenerator[Any, None]:
        """Blocks `start..stop` inclusive (stop defaults to the current height - 1) via Deliver."""
        if stop is None:
            stop = (await self.get_chain_info()).height - 1
        if stop < start:
            return
        stream = await self.block_events(start_block=start, stop_block=stop)
        async with stream:
            async for block in stream:
                yield block
                if int(block.header.number) >= stop:
                    return
