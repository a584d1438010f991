"""Result iterators over the peer's query responses, paged with QUERY_STATE_NEXT.

The peer sends results in batches (QueryResponse); while ``has_more`` is set, the next batch is
fetched with QUERY_STATE_NEXT on the iterator id. An iterator abandoned early is closed with
QUERY_STATE_CLOSE (``close()`` or the ``with`` block); the peer closes the rest when the
transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_shim_pb2

from . import messages as m

if TYPE_CHECKING:
    from .txchannel import TxChannel

__all__ = [
    "KV",
    "HistoryQueryIterator",
    "KeyModification",
    "QueryMetadata",
    "StateQueryIterator",
]

_QueryResponse = chaincode_shim_pb2.QueryResponse
_QueryResponseMetadata = chaincode_shim_pb2.QueryResponseMetadata
_QueryStateNext = chaincode_shim_pb2.QueryStateNext
_QueryStateClose = chaincode_shim_pb2.QueryStateClose
_KV = kv_query_result_pb2.KV
_KeyModification = kv_query_result_pb2.KeyModification


@dataclass(frozen=True, slots=True)
class KV:
    key: str
    value: bytes
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class KeyModification:
    tx_id: str
    value: bytes
    timestamp: datetime
    is_delete: bool


@dataclass(frozen=True, slots=True)
class QueryMetadata:
    """What a paginated query reports: records in this page, and where the next page starts."""

    fetched_records_count: int
    bookmark: str


T = TypeVar("T")


class _ResultIterator(Generic[T]):
    __slots__ = ("_batch", "_closed", "_metadata", "_pos", "_response", "_tx")

    def __init__(self, tx: TxChannel, response: chaincode_shim_pb2.QueryResponse) -> None:
        self._tx = tx
        self._response = response
        self._batch = response.results
        self._pos = 0
        self._closed = False
        self._metadata: bytes = response.metadata

    def _decode(self, raw: bytes) -> T:
        raise NotImplementedError

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while self._pos >= len(self._batch):
            if self._closed or not self._response.has_more:
                raise StopIteration
            payload = _QueryStateNext(id=self._response.id).SerializeToString()
            self._response = _QueryResponse.FromString(self._tx.call(m.QUERY_STATE_NEXT, payload))
            self._batch = self._response.results
            self._pos = 0
            if self._response.metadata:
                # Fabric sends a paginated query's metadata with its last batch
                self._metadata = self._response.metadata
        item = self._batch[self._pos]
        self._pos += 1
        return self._decode(item.resultBytes)

    def has_next(self) -> bool:
        return self._pos < len(self._batch) or (not self._closed and self._response.has_more)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._response.has_more:
            payload = _QueryStateClose(id=self._response.id).SerializeToString()
            self._tx.call(m.QUERY_STATE_CLOSE, payload)

    def __enter__(self) -> _ResultIterator[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def metadata(self) -> QueryMetadata:
        decoded = _QueryResponseMetadata.FromString(self._metadata)
        return QueryMetadata(decoded.fetched_records_count, decoded.bookmark)


class StateQueryIterator(_ResultIterator[KV]):
    """Iterates ``KV`` records of a range, partial composite key or rich query."""

    __slots__ = ()

    def _decode(self, raw: bytes) -> KV:
        kv = _KV.FromString(raw)
        return KV(kv.key, kv.value, kv.namespace)


class HistoryQueryIterator(_ResultIterator[KeyModification]):
    """Iterates a key's ``KeyModification`` records, newest first as the peer returns them."""

    __slots__ = ()

    def _decode(self, raw: bytes) -> KeyModification:
        km = _KeyModification.FromString(raw)
        ts = km.timestamp
        when = datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)
        return KeyModification(km.tx_id, km.value, when, km.is_delete)
