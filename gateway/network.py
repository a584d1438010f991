"""A channel: contracts, events and ledger queries (sync facade over `gateway.aio.Network`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway import aio
from gateway._loop import LoopThread
from gateway.audit import ChainReport
from gateway.checkpoint import Checkpoint
from gateway.contract import Contract
from gateway.events import BlockEventKind, ChaincodeEvent
from gateway.flow import BlockEventsRequest, ChaincodeEventsRequest, EventStream
from gateway.ledger import ChainInfo, TransactionRecord


class Network:
    def __init__(self, loop: LoopThread, inner: aio.Network) -> None:
        self._loop = loop
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    def get_contract(self, chaincode: str, contract_name: str | None = None) -> Contract:
        return Contract(self._loop, self._inner.get_contract(chaincode, contract_name))

    def new_chaincode_events_request(
        self,
        chaincode: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> ChaincodeEventsRequest:
        inner = self._inner.new_chaincode_events_request(
            chaincode, start_block=start_block, checkpoint=checkpoint
        )
        return ChaincodeEventsRequest(self._loop, inner)

    def chaincode_events(
        self,
        chaincode: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[ChaincodeEvent]:
        request = self.new_chaincode_events_request(
            chaincode, start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)

    def new_block_events_request(
        self,
        kind: BlockEventKind = BlockEventKind.FULL,
        *,
        start_block: int | None = None,
        stop_block: int | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> BlockEventsRequest:
        inner = self._inner.new_block_events_request(
            kind, start_block=start_block, stop_block=stop_block, checkpoint=checkpoint
        )
        return BlockEventsRequest(self._loop, inner)

    def block_events(
        self,
        kind: BlockEventKind = BlockEventKind.FULL,
        *,
        start_block: int | None = None,
        stop_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[Any]:
        request = self.new_block_events_request(
            kind, start_block=start_block, stop_block=stop_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)

    def get_chain_info(self) -> ChainInfo:
        return self._loop.run(self._inner.get_chain_info())

    def get_block(self, number: int) -> Any:
        return self._loop.run(self._inner.get_block(number))

    def get_config_block(self) -> Any:
        return self._loop.run(self._inner.get_config_block())

    def get_block_by_transaction_id(self, transaction_id: str) -> Any:
        return self._loop.run(self._inner.get_block_by_transaction_id(transaction_id))

    def get_transaction(self, transaction_id: str) -> TransactionRecord:
        return self._loop.run(self._inner.get_transaction(transaction_id))

    def audit_chain(self, start: int = 0, stop: int | None = None) -> ChainReport:
        """Fetch blocks `start..stop` and verify hashes, links and orderer signatures locally."""
        return self._loop.run(self._inner.audit_chain(start, stop))

    def iter_blocks(self, start: int = 0, stop: int | None = None) -> Iterator[Any]:
        """Blocks `start..stop` inclusive (default: to the current height - 1)."""
        agen = self._inner.iter_blocks(start, stop)
        try:
            while True:
                try:
                    yield self._loop.run(_anext(agen))
                except StopAsyncIteration:
                    return
        finally:
            self._loop.run(agen.aclose())


async def _anext(agen: Any) -> Any:
    return await agen.__anext__()
