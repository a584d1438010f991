"""The peer side of Fabric's chaincode protocol over one chaincode-as-a-service connection.

Mirrors `core/chaincode/handler.go`: the peer dials the chaincode server, opens
`protos.Chaincode/Connect`, answers the chaincode's REGISTER with REGISTERED then READY, and
then multiplexes any number of transactions on the one stream, keyed by (channel, txid). For
each transaction it sends TRANSACTION and serves the chaincode's state calls against that
transaction's simulator until COMPLETED or ERROR arrives (or the per-transaction timeout).

Error texts are Fabric's (`"<TYPE> failed: transaction ID: <txid>: <reason>"`), because the
shims hand them to contract code and clients verbatim.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import grpc
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import (
    chaincode_pb2,
    chaincode_shim_pb2,
    chaincode_shim_pb2_grpc,
    proposal_pb2,
)
from google.protobuf import timestamp_pb2

from hardening.logs import report_unexpected

from . import protoutil
from .history import HistoryEntry
from .tls import GRPC_OPTIONS, ChaincodeConnection

log = logging.getLogger(__name__)

Msg: TypeAlias = chaincode_shim_pb2.ChaincodeMessage
T = chaincode_shim_pb2.ChaincodeMessage.Type

ERROR_EXECUTION_TIMEOUT = "timeout expired while executing transaction"
ERROR_STREAM_TERMINATED = "chaincode stream terminated"

# Fabric batches query results 100 at a time between peer and shim (QueryResponseGenerator),
# and caps a whole query at core.yaml's chaincode.totalQueryLimit.
MAX_RESULT_LIMIT = 100
TOTAL_QUERY_LIMIT = 100000

# core.yaml chaincode.runtimeParams defaults, which Fabric v3.1's peer sends in READY as
# ChaincodeAdditionalParams; shims batch writes and multi-key reads only when told so.
USE_WRITE_BATCH = True
MAX_SIZE_WRITE_BATCH = 1000
USE_GET_MULTIPLE_KEYS = True
MAX_SIZE_GET_MULTIPLE_KEYS = 1000


def _additional_params() -> bytes:
    """ChaincodeAdditionalParams{1 use_write_batch, 2 max_size_write_batch,
    3 use_get_multiple_keys, 4 max_size_get_multiple_keys}, encoded by hand: the pinned
    fabric_protos release predates the message. Zero fields are omitted, as proto3 does."""
    out = bytearray()
    fields = (
        int(USE_WRITE_BATCH),
        MAX_SIZE_WRITE_BATCH,
        int(USE_GET_MULTIPLE_KEYS),
        MAX_SIZE_GET_MULTIPLE_KEYS,
    )
    for number, value in enumerate(fields, start=1):
        if value:
            out += protoutil.varint(number << 3) + protoutil.varint(value)  # wire type 0 (varint)
    return bytes(out)


READY_PAYLOAD = _additional_params()

# Each dial gets connections of its own: gRPC otherwise shares them between channels to one
# address, and a new dial to a chaincode server that came back would inherit the failed
# connection's back-off (up to two minutes) from the dial that found it down.
DIAL_OPTIONS = [*GRPC_OPTIONS, ("grpc.use_local_subchannel_pool", 1)]


class HandlerError(Exception):
    """A chaincode request the peer refuses; the text goes back to the shim in an ERROR."""


class ChaincodeStreamTerminated(ConnectionError):
    def __init__(self) -> None:
        super().__init__(ERROR_STREAM_TERMINATED)


class ChaincodeTimeout(TimeoutError):
    def __init__(self) -> None:
        super().__init__(ERROR_EXECUTION_TIMEOUT)


class Simulator(Protocol):
    """What the handler needs of `rwset.TxSimulator`."""

    def get_state(self, ns: str, key: str) -> bytes | None: ...
    def get_states(self, ns: str, keys: list[str]) -> list[bytes | None]: ...
    def put_state(self, ns: str, key: str, value: bytes) -> None: ...
    def del_state(self, ns: str, key: str) -> None: ...
    def get_state_range(
        self, ns: str, start: str, end: str, limit: int | None = None
    ) -> list[tuple[str, bytes]]: ...
    def get_state_metadata(self, ns: str, key: str) -> dict[str, bytes]: ...
    def set_state_metadata(self, ns: str, key: str, metadata: dict[str, bytes]) -> None: ...
    def get_private_data(self, ns: str, coll: str, key: str) -> bytes | None: ...
    def put_private_data(self, ns: str, coll: str, key: str, value: bytes) -> None: ...
    def del_private_data(self, ns: str, coll: str, key: str) -> None: ...
    def get_private_data_hash(self, ns: str, coll: str, key: str) -> bytes | None: ...
    def get_private_data_range(
        self, ns: str, coll: str, start: str, end: str
    ) -> list[tuple[str, bytes]]: ...
    def purge_private_data(self, ns: str, coll: str, key: str) -> None: ...


# (transaction context, target channel, target chaincode, input) -> COMPLETED/ERROR message
Invoker = Callable[["TransactionContext", str, str, chaincode_pb2.ChaincodeInput], Awaitable[Msg]]
# (namespace, key) -> the key's history entries, as the history database keeps them
HistoryReader = Callable[[str, str], list[HistoryEntry]]
# (namespace, collection, write?) -> None, raising HandlerError when the creator may not
CollectionGuard = Callable[[str, str, bool], None]


@dataclass
class _Query:
    results: Iterator[bytes]
    paginated: bool
    count: int = 0
    bookmark: str = ""


@dataclass
class TransactionContext:
    """One transaction on one chaincode stream (Fabric's TransactionContext)."""

    channel_id: str
    txid: str
    namespace: str
    simulator: Simulator | None
    signed_proposal: proposal_pb2.SignedProposal | None = None
    history: HistoryReader | None = None
    collection_guard: CollectionGuard | None = None
    invoker: Invoker | None = None
    is_init: bool = False
    queries: dict[str, _Query] = field(default_factory=dict)
    response: asyncio.Future[Msg] | None = None


class ChaincodeHandler:
    """One peer's live stream to one chaincode server."""

    def __init__(self, chaincode: str, connection: ChaincodeConnection, peer: str) -> None:
        self.chaincode = chaincode
        self.connection = connection
        self.peer = peer
        self.chaincode_id = ""  # the package id the chaincode registered with
        self._channel: grpc.aio.Channel | None = None
        self._call: Any = None
        self._contexts: dict[tuple[str, str], TransactionContext] = {}
        # Messages to the chaincode leave in order from one writer task: a gRPC stream takes
        # one write at a time, and nobody (the reader least of all) waits for a write to end.
        self._out: collections.deque[Msg] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()

    @property
    def alive(self) -> bool:
        return self._call is not None and not self._closed.is_set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Dial, open Connect, and complete REGISTER → REGISTERED → READY."""
        conn = self.connection
        creds = conn.channel_credentials()
        if creds is None:
            self._channel = grpc.aio.insecure_channel(conn.address, options=DIAL_OPTIONS)
        else:
            self._channel = grpc.aio.secure_channel(conn.address, creds, options=DIAL_OPTIONS)
        try:
            await _connected(self._channel, conn.dial_timeout)
        except ConnectionRefusedError:
            await self._channel.close()
            raise ConnectionError(
                f"error trying to connect to local peer: chaincode {self.chaincode} at "
                f"{conn.address} is unreachable (the connection failed at once: is its "
                "server running?)"
            ) from None
        except TimeoutError:
            await self._channel.close()
            raise ConnectionError(
                f"error trying to connect to local peer: chaincode {self.chaincode} at "
                f"{conn.address} did not answer within {conn.dial_timeout}s"
            ) from None
        self._call = chaincode_shim_pb2_grpc.ChaincodeStub(self._channel).Connect()
        first = await asyncio.wait_for(self._call.read(), conn.dial_timeout)
        if first is grpc.aio.EOF or first.type != T.REGISTER:
            await self.stop()
            got = "end of stream" if first is grpc.aio.EOF else _type_name(first.type)
            raise ConnectionError(
                f"chaincode {self.chaincode} at {conn.address}: expected REGISTER, got {got}"
            )
        self.chaincode_id = chaincode_pb2.ChaincodeID.FromString(first.payload).name
        if not self.chaincode_id:
            await self.stop()
            raise ConnectionError("error in handling register chaincode, chaincodeID name is empty")
        await self._call.write(Msg(type=T.REGISTERED))
        await self._call.write(Msg(type=T.READY, payload=READY_PAYLOAD))
        self._writer = asyncio.create_task(
            self._write_loop(), name=f"cc-out-{self.peer}-{self.chaincode}"
        )
        self._reader = asyncio.create_task(
            self._read_loop(), name=f"cc-{self.peer}-{self.chaincode}"
        )
        log.info("%s: chaincode %s registered as %s", self.peer, self.chaincode, self.chaincode_id)

    async def stop(self) -> None:
        self._closed.set()
        if self._call is not None:
            self._call.cancel()
        for task in (self._reader, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for task in list(self._tasks):
            task.cancel()
        if self._channel is not None:
            await self._channel.close()
        self._fail_all()

    def _fail_all(self) -> None:
        for ctx in self._contexts.values():
            if ctx.response is not None and not ctx.response.done():
                ctx.response.set_exception(ChaincodeStreamTerminated())

    def _send(self, msg: Msg) -> None:
        """Queue `msg` for the chaincode; the writer task sends it."""
        self._out.append(msg)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _write_loop(self) -> None:
        out = self._out
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not out:
                    self._wake = loop.create_future()
                    await self._wake
                    self._wake = None
                    continue
                await self._call.write(out.popleft())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream broke: every transaction on it has failed
            log.warning(
                "%s: chaincode %s stream closed to writes: %s", self.peer, self.chaincode, exc
            )
            self._closed.set()
            self._fail_all()

    # --- transactions ------------------------------------------------------------------------

    async def execute(
        self,
        ctx: TransactionContext,
        chaincode_input: chaincode_pb2.ChaincodeInput,
        timeout: float,
    ) -> Msg:
        """Run one transaction; returns the chaincode's COMPLETED or ERROR message."""
        if not self.alive:
            raise ChaincodeStreamTerminated()
        key = (ctx.channel_id, ctx.txid)
        if key in self._contexts:
            raise HandlerError(f"txid: {ctx.txid}({ctx.channel_id}) exists")
        ctx.response = asyncio.get_running_loop().create_future()
        self._contexts[key] = ctx
        msg = Msg(
            type=T.INIT if ctx.is_init else T.TRANSACTION,
            payload=chaincode_input.SerializeToString(),
            txid=ctx.txid,
            channel_id=ctx.channel_id,
        )
        if ctx.signed_proposal is not None:
            msg.proposal.CopyFrom(ctx.signed_proposal)
        # A timer on the response future instead of wait_for: no extra task per transaction.
        response = ctx.response
        timer = asyncio.get_running_loop().call_later(timeout, _expire, response)
        try:
            self._send(msg)
            return await response
        finally:
            timer.cancel()
            self._contexts.pop(key, None)

    async def _read_loop(self) -> None:
        try:
            while True:
                msg = await self._call.read()
                if msg is grpc.aio.EOF:
                    break
                self._dispatch(msg)
        except asyncio.CancelledError:
            raise
        except grpc.aio.AioRpcError as exc:
            log.warning(
                "%s: chaincode %s stream ended: %s", self.peer, self.chaincode, exc.details()
            )
        except ChaincodeStreamTerminated:
            log.warning(
                "%s: chaincode %s stream ended while answering it", self.peer, self.chaincode
            )
        except Exception as exc:
            report_unexpected(log, exc, f"{self.peer}: chaincode {self.chaincode} stream failed")
        finally:
            self._closed.set()
            self._fail_all()

    def _dispatch(self, msg: Msg) -> None:
        if msg.type == T.KEEPALIVE:
            return
        ctx = self._contexts.get((msg.channel_id, msg.txid))
        if msg.type in (T.COMPLETED, T.ERROR):
            if ctx is not None and ctx.response is not None and not ctx.response.done():
                ctx.response.set_result(msg)
            return
        if ctx is None or (ctx.simulator is None and msg.type != T.INVOKE_CHAINCODE):
            self._send(self._error(msg, "no ledger context"))
            return
        if msg.type == T.INVOKE_CHAINCODE:
            # Runs another chaincode to completion: must not hold up this stream's reader.
            task = asyncio.create_task(self._invoke(msg, ctx))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        try:
            payload = self._handle(msg, ctx)
            reply = Msg(type=T.RESPONSE, payload=payload, txid=msg.txid, channel_id=msg.channel_id)
        except Exception as exc:  # every failure goes back to the shim, as Fabric's handler does
            log.debug("%s: %s for %s refused: %s", self.peer, _type_name(msg.type), msg.txid, exc)
            reply = self._error(msg, str(exc))
        self._send(reply)

    @staticmethod
    def _error(msg: Msg, reason: str) -> Msg:
        text = f"{_type_name(msg.type)} failed: transaction ID: {msg.txid}: {reason}"
        return Msg(type=T.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id)

    async def _invoke(self, msg: Msg, ctx: TransactionContext) -> None:
        try:
            spec = chaincode_pb2.ChaincodeSpec.FromString(msg.payload)
            name, _, channel = spec.chaincode_id.name.partition("/")
            name = name.split(":")[0]
            if ctx.invoker is None:
                raise HandlerError("chaincode-to-chaincode calls are not available here")
            result = await ctx.invoker(ctx, channel or ctx.channel_id, name, spec.input)
            reply = Msg(
                type=T.RESPONSE,
                payload=result.SerializeToString(),
                txid=msg.txid,
                channel_id=msg.channel_id,
            )
        except Exception as exc:
            reply = self._error(msg, f"execute failed: {exc}")
        if self.alive:
            self._send(reply)

    # --- state calls -------------------------------------------------------------------------

    def _handle(self, msg: Msg, ctx: TransactionContext) -> bytes:
        handler = _HANDLERS.get(msg.type)
        if handler is None:
            raise HandlerError(
                f"Fabric side handler cannot handle message ({_type_name(msg.type)})"
            )
        return handler(ctx, msg.payload)


async def _connected(channel: grpc.aio.Channel, timeout: float) -> None:
    """Wait until `channel` is READY. A dial that fails outright (the port refuses, TLS
    fails) raises ConnectionRefusedError at once instead of waiting the whole dial timeout
    while gRPC retries with back-off; one that hangs raises TimeoutError after `timeout`."""
    ready, failed = grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = channel.get_state(try_to_connect=True)
    while state is not ready:
        if state is failed or state is grpc.ChannelConnectivity.SHUTDOWN:
            raise ConnectionRefusedError()
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError()
        await asyncio.wait_for(channel.wait_for_state_change(state), left)
        state = channel.get_state(try_to_connect=True)


def _type_name(value: int) -> str:
    """A message type's name; a number no name stands for (a broken chaincode) as itself."""
    return T.Name(value) if value in _TYPES else str(value)


_TYPES = frozenset(T.values())


def _expire(response: asyncio.Future[Msg]) -> None:
    if not response.done():
        response.set_exception(ChaincodeTimeout())


def _sim(ctx: TransactionContext) -> Simulator:
    assert ctx.simulator is not None  # _dispatch refuses requests without one
    return ctx.simulator


def _check_collection(ctx: TransactionContext, collection: str, write: bool) -> None:
    if ctx.is_init:
        raise HandlerError("private data APIs are not allowed in chaincode Init()")
    if ctx.collection_guard is not None:
        ctx.collection_guard(ctx.namespace, collection, write)


def _get_state(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.GetState.FromString(payload)
    if req.collection:
        _check_collection(ctx, req.collection, False)
        value = _sim(ctx).get_private_data(ctx.namespace, req.collection, req.key)
    else:
        value = _sim(ctx).get_state(ctx.namespace, req.key)
    return value or b""


def _get_state_multiple(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.GetStateMultiple.FromString(payload)
    if req.collection:
        _check_collection(ctx, req.collection, False)
        values = [
            _sim(ctx).get_private_data(ctx.namespace, req.collection, k) or b"" for k in req.keys
        ]
    else:
        # one SQLite query for all the keys: each query releases and retakes the GIL that the
        # commit threads contend for
        values = [v or b"" for v in _sim(ctx).get_states(ctx.namespace, list(req.keys))]
    return chaincode_shim_pb2.GetStateMultipleResult(values=values).SerializeToString()


def _put(ctx: TransactionContext, key: str, value: bytes, collection: str) -> None:
    if collection:
        _check_collection(ctx, collection, True)
        _sim(ctx).put_private_data(ctx.namespace, collection, key, value)
    else:
        _sim(ctx).put_state(ctx.namespace, key, value)


def _delete(ctx: TransactionContext, key: str, collection: str) -> None:
    if collection:
        _check_collection(ctx, collection, True)
        _sim(ctx).del_private_data(ctx.namespace, collection, key)
    else:
        _sim(ctx).del_state(ctx.namespace, key)


def _purge(ctx: TransactionContext, key: str, collection: str) -> None:
    if not collection:
        raise HandlerError("only applicable for private data")
    _check_collection(ctx, collection, True)
    _sim(ctx).purge_private_data(ctx.namespace, collection, key)


def _put_metadata(
    ctx: TransactionContext, key: str, collection: str, name: str, value: bytes
) -> None:
    if collection:
        raise HandlerError("state metadata on private data is not supported by this peer")
    # Fabric merges one entry into the key's existing metadata map, then writes the whole map.
    current = dict(_sim(ctx).get_state_metadata(ctx.namespace, key) or {})
    current[name] = value
    _sim(ctx).set_state_metadata(ctx.namespace, key, current)


def _put_state(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.PutState.FromString(payload)
    _put(ctx, req.key, req.value, req.collection)
    return b""


def _del_state(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.DelState.FromString(payload)
    _delete(ctx, req.key, req.collection)
    return b""


def _purge_private(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.DelState.FromString(payload)
    _purge(ctx, req.key, req.collection)
    return b""


def _write_batch(ctx: TransactionContext, payload: bytes) -> bytes:
    W = chaincode_shim_pb2.WriteRecord
    for rec in chaincode_shim_pb2.WriteBatchState.FromString(payload).rec:
        if rec.type == W.PUT_STATE:
            _put(ctx, rec.key, rec.value, rec.collection)
        elif rec.type == W.DEL_STATE:
            _delete(ctx, rec.key, rec.collection)
        elif rec.type == W.PURGE_PRIVATE_DATA:
            _purge(ctx, rec.key, rec.collection)
        elif rec.type == W.PUT_STATE_METADATA:
            _put_metadata(ctx, rec.key, rec.collection, rec.metadata.metakey, rec.metadata.value)
        else:
            raise HandlerError("unknown operation type")
    return b""


def _get_state_metadata(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.GetStateMetadata.FromString(payload)
    if req.collection:
        _check_collection(ctx, req.collection, False)
        return chaincode_shim_pb2.StateMetadataResult().SerializeToString()
    md = _sim(ctx).get_state_metadata(ctx.namespace, req.key) or {}
    entries = [chaincode_shim_pb2.StateMetadata(metakey=k, value=v) for k, v in sorted(md.items())]
    return chaincode_shim_pb2.StateMetadataResult(entries=entries).SerializeToString()


def _put_state_metadata(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.PutStateMetadata.FromString(payload)
    _put_metadata(ctx, req.key, req.collection, req.metadata.metakey, req.metadata.value)
    return b""


def _get_private_data_hash(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.GetState.FromString(payload)
    if not req.collection:
        raise HandlerError("only applicable for private data")
    if ctx.is_init:
        raise HandlerError("private data APIs are not allowed in chaincode Init()")
    return _sim(ctx).get_private_data_hash(ctx.namespace, req.collection, req.key) or b""


def _kv_bytes(ns: str, rows: list[tuple[str, bytes]]) -> Iterator[bytes]:
    for key, value in rows:
        yield kv_query_result_pb2.KV(namespace=ns, key=key, value=value).SerializeToString()


def _next_batch(ctx: TransactionContext, query_id: str) -> bytes:
    """Fabric's QueryResponseGenerator: batches of 100, or the whole page when paginated."""
    query = ctx.queries[query_id]
    batch: list[chaincode_shim_pb2.QueryResultBytes] = []
    for raw in query.results:
        batch.append(chaincode_shim_pb2.QueryResultBytes(resultBytes=raw))
        query.count += 1
        if not query.paginated and len(batch) == MAX_RESULT_LIMIT:
            return chaincode_shim_pb2.QueryResponse(
                results=batch, has_more=True, id=query_id
            ).SerializeToString()
        if query.count >= TOTAL_QUERY_LIMIT:
            break
    del ctx.queries[query_id]
    response = chaincode_shim_pb2.QueryResponse(results=batch, has_more=False, id=query_id)
    if query.paginated:
        response.metadata = chaincode_shim_pb2.QueryResponseMetadata(
            fetched_records_count=query.count, bookmark=query.bookmark
        ).SerializeToString()
    return response.SerializeToString()


def _get_state_by_range(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.GetStateByRange.FromString(payload)
    page = chaincode_shim_pb2.QueryMetadata.FromString(req.metadata) if req.metadata else None
    query_id = str(uuid.uuid4())
    if req.collection:
        _check_collection(ctx, req.collection, False)
        rows = _sim(ctx).get_private_data_range(
            ctx.namespace, req.collection, req.startKey, req.endKey
        )
        ctx.queries[query_id] = _Query(_kv_bytes(ctx.namespace, rows), paginated=False)
    elif page is not None and page.pageSize > 0:
        start = page.bookmark or req.startKey
        size = min(page.pageSize, TOTAL_QUERY_LIMIT)
        # One row past the page tells the bookmark: the key the next page starts at.
        rows = _sim(ctx).get_state_range(ctx.namespace, start, req.endKey, limit=size + 1)
        bookmark = rows[size][0] if len(rows) > size else ""
        ctx.queries[query_id] = _Query(
            _kv_bytes(ctx.namespace, rows[:size]), paginated=True, bookmark=bookmark
        )
    else:
        rows = _sim(ctx).get_state_range(ctx.namespace, req.startKey, req.endKey)
        ctx.queries[query_id] = _Query(_kv_bytes(ctx.namespace, rows), paginated=False)
    return _next_batch(ctx, query_id)


def _query_next(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.QueryStateNext.FromString(payload)
    if req.id not in ctx.queries:
        raise HandlerError("query iterator not found")
    return _next_batch(ctx, req.id)


def _query_close(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.QueryStateClose.FromString(payload)
    ctx.queries.pop(req.id, None)
    return chaincode_shim_pb2.QueryResponse(has_more=False, id=req.id).SerializeToString()


def _get_query_result(ctx: TransactionContext, payload: bytes) -> bytes:
    # Fabric on LevelDB (the embedded engine's model) has no rich queries.
    raise HandlerError("ExecuteQuery not supported for leveldb")


def _get_history(ctx: TransactionContext, payload: bytes) -> bytes:
    req = chaincode_shim_pb2.GetHistoryForKey.FromString(payload)
    if ctx.history is None:
        raise HandlerError("history database is not enabled")
    entries = ctx.history(ctx.namespace, req.key)

    def rows() -> Iterator[bytes]:
        for e in entries:
            seconds, nanos = e.timestamp  # the transaction's channel header time stamp
            yield kv_query_result_pb2.KeyModification(
                tx_id=e.tx_id,
                value=e.value or b"",
                timestamp=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos),
                is_delete=bool(e.is_delete),
            ).SerializeToString()

    query_id = str(uuid.uuid4())
    ctx.queries[query_id] = _Query(rows(), paginated=False)
    return _next_batch(ctx, query_id)


_HANDLERS: dict[int, Callable[[TransactionContext, bytes], bytes]] = {
    T.GET_STATE: _get_state,
    T.GET_STATE_MULTIPLE: _get_state_multiple,
    T.PUT_STATE: _put_state,
    T.DEL_STATE: _del_state,
    T.PURGE_PRIVATE_DATA: _purge_private,
    T.WRITE_BATCH_STATE: _write_batch,
    T.GET_STATE_METADATA: _get_state_metadata,
    T.PUT_STATE_METADATA: _put_state_metadata,
    T.GET_PRIVATE_DATA_HASH: _get_private_data_hash,
    T.GET_STATE_BY_RANGE: _get_state_by_range,
    T.QUERY_STATE_NEXT: _query_next,
    T.QUERY_STATE_CLOSE: _query_close,
    T.GET_QUERY_RESULT: _get_query_result,
    T.GET_HISTORY_FOR_KEY: _get_history,
}
