"""The fine-grained flow, sync: thin wrappers that run the async core on the gateway's loop.

Each object has the same surface as its `gateway.aio` twin: `to_bytes()`, `digest()`,
`transaction_id`, and one blocking step (`evaluate`/`endorse`, `submit`, `get_status`, `events`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from gateway import aio
from gateway._loop import LoopThread
from gateway.commit import Status
from gateway.events import ChaincodeEvent

T = TypeVar("T")


class _Signable:
    """A sync wrapper of one signable `gateway.aio` object, run on the gateway's loop."""

    _inner: Any

    def __init__(self, loop: LoopThread, inner: Any) -> None:
        self._loop = loop
        self._inner = inner

    def to_bytes(self) -> bytes:
        return bytes(self._inner.to_bytes())

    def digest(self) -> bytes:
        return bytes(self._inner.digest())

    @property
    def signed(self) -> bool:
        return bool(self._inner.signed)


class _Step(_Signable):
    """One step of a transaction's flow: proposal, transaction or commit."""

    @property
    def transaction_id(self) -> str:
        return str(self._inner.transaction_id)


class Proposal(_Step):
    _inner: aio.Proposal

    def evaluate(self, *, timeout: float | None = None) -> bytes:
        return self._loop.run(self._inner.evaluate(timeout=timeout))

    def endorse(self, *, timeout: float | None = None) -> Transaction:
        return Transaction(self._loop, self._loop.run(self._inner.endorse(timeout=timeout)))


class Transaction(_Step):
    _inner: aio.Transaction

    @property
    def result(self) -> bytes:
        return self._inner.result

    def submit(self, *, timeout: float | None = None) -> Commit:
        return Commit(self._loop, self._loop.run(self._inner.submit(timeout=timeout)))


class Commit(_Step):
    _inner: aio.Commit

    @property
    def result(self) -> bytes | None:
        return self._inner.result

    def get_status(self, *, timeout: float | None = None) -> Status:
        return self._loop.run(self._inner.get_status(timeout=timeout))


class EventStream(Generic[T], Iterator[T]):
    """Blocking iterator over an event stream; `close()` or `with` cancels it."""

    def __init__(self, loop: LoopThread, inner: aio.EventStream[T]) -> None:
        self._loop = loop
        self._inner = inner

    def __iter__(self) -> EventStream[T]:
        return self

    def __next__(self) -> T:
        try:
            return self._loop.run(_anext(self._inner))
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._loop.loop.call_soon_threadsafe(self._inner.close)

    def __enter__(self) -> EventStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _anext(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


class ChaincodeEventsRequest(_Signable):
    _inner: aio.ChaincodeEventsRequest

    def events(self, *, timeout: float | None = None) -> EventStream[ChaincodeEvent]:
        return EventStream(self._loop, self._loop.run(self._inner.events(timeout=timeout)))


class BlockEventsRequest(_Signable):
    _inner: aio.BlockEventsRequest

    def events(self, *, timeout: float | None = None) -> EventStream[Any]:
        return EventStream(self._loop, self._loop.run(self._inner.events(timeout=timeout)))
