"""Event requests and streams, async: chaincode events and the three kinds of block events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from gateway.aio.flow import pick_timeout
from gateway.aio.transport import GatewayTransport, ResponseStream
from gateway.errors import EventsError, ProtocolError
from gateway.events import (
    BlockEventKind,
    ChaincodeEvent,
    DeliverEnd,
    block_from_deliver_response,
    chaincode_events_from_response,
)
from gateway.identity import SigningIdentity

T = TypeVar("T")


class EventStream(Generic[T], AsyncIterator[T]):
    """Events as they arrive; `close()` (or leaving `async with`) cancels the server stream."""

    def __init__(self, responses: ResponseStream, items: AsyncIterator[T]) -> None:
        self._responses = responses
        self._items = items

    def __aiter__(self) -> EventStream[T]:
        return self

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    def close(self) -> None:
        self._responses.cancel()

    async def __aenter__(self) -> EventStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Signable:
    def __init__(self, signing: SigningIdentity, message: Any) -> None:
        self._signing = signing
        self._message = message

    def to_bytes(self) -> bytes:
        return bytes(self._message.SerializeToString())

    @property
    def signed(self) -> bool:
        return len(self._message.signature) > 0

    def set_signature(self, signature: bytes) -> None:
        self._message.signature = signature

    def _sign(self) -> None:
        if not self.signed:
            self._message.signature = self._signing.sign(self.digest())

    def digest(self) -> bytes:
        raise NotImplementedError


class ChaincodeEventsRequest(_Signable):
    """A signable `SignedChaincodeEventsRequest`; `events()` opens the stream."""

    def __init__(
        self, transport: GatewayTransport, signing: SigningIdentity, signed_request: Any
    ) -> None:
        super().__init__(signing, signed_request)
        self._transport = transport

    def digest(self) -> bytes:
        return self._signing.hash(self._message.request)

    async def events(self, *, timeout: float | None = None) -> EventStream[ChaincodeEvent]:
        self._sign()
        responses = self._transport.chaincode_events(self._message, pick_timeout(timeout, None))

        async def items() -> AsyncIterator[ChaincodeEvent]:
            async for response in responses:
                for event in chaincode_events_from_response(response):
                    yield event

        return EventStream(responses, items())


class BlockEventsRequest(_Signable):
    """A signable Deliver seek envelope of one `BlockEventKind`; `events()` opens the stream.

    Items are `common.Block`, `peer.FilteredBlock` or `peer.BlockAndPrivateData` messages.
    A seek with a stop block ends after that block.
    """

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        envelope: Any,
        kind: BlockEventKind,
    ) -> None:
        super().__init__(signing, envelope)
        self._transport = transport
        self.kind = kind

    def digest(self) -> bytes:
        return self._signing.hash(self._message.payload)

    async def events(self, *, timeout: float | None = None) -> EventStream[Any]:
        self._sign()
        responses = self._transport.deliver(self._message, self.kind, pick_timeout(timeout, None))
        kind = self.kind

        async def items() -> AsyncIterator[Any]:
            async for response in responses:
                try:
                    yield block_from_deliver_response(response, kind)
                except DeliverEnd:
                    responses.cancel()
                    return
                except (EventsError, ProtocolError):
                    responses.cancel()
                    raise

        return EventStream(responses, items())
