"""The one error boundary of every gRPC service the sandbox serves: the engine's peers and
orderer, and the chaincode servers.

grpc.aio decodes a request before the servicer sees it; a request that is not the protobuf
message the method takes would be answered UNKNOWN with the Python exception's text, and a
stack trace would go to the log for every such request. Fabric's peer, a Go program, answers
INTERNAL ``grpc: error unmarshalling request: ...`` and logs nothing. This interceptor does
what Fabric does:

- a request (or a message of a stream) that does not decode is answered INTERNAL with
  grpc-go's wording, and logged as one line per method at most once a minute with the count;
- any exception a servicer did not expect is answered INTERNAL ``internal error`` (nothing of
  the exception goes back to the client) and logged once per place with its traceback, as one
  line afterwards (``hardening.logs.report_unexpected``);
- statuses a servicer sets on purpose (``context.abort``) and cancellations pass untouched.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from hardening.logs import report_unexpected

log = logging.getLogger(__name__)

UNMARSHAL_REQUEST = (
    "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data"
)
UNMARSHAL_MESSAGE = (
    "grpc: failed to unmarshal the received message: proto: cannot parse invalid wire-format data"
)
INTERNAL = "internal error"
WARN_EVERY = 60.0  # seconds between two log lines about undecodable requests to one method


class _Undecodable:
    """What the guarded deserializer returns for bytes that are not the method's message."""

    __slots__ = ()


UNDECODABLE = _Undecodable()


class UndecodableMessage(Exception):
    """A message of a request stream did not decode; the call ends INTERNAL."""


class _Tally:
    """Undecodable requests per method, logged at most once per WARN_EVERY seconds."""

    def __init__(self) -> None:
        self._since: dict[str, tuple[float, int]] = {}

    def refused(self, method: str, peer: str) -> None:
        now = time.monotonic()
        last, count = self._since.get(method, (-WARN_EVERY, 0))
        count += 1
        if now - last >= WARN_EVERY:
            log.warning(
                "%s: refused %d request(s) that did not decode (the last from %s); the next "
                "ones for %.0f s are counted, not logged",
                method,
                count,
                peer,
                WARN_EVERY,
            )
            self._since[method] = (now, 0)
        else:
            self._since[method] = (last, count)


class ErrorBoundary(grpc.aio.ServerInterceptor):
    """Put first in a server's interceptors: it then wraps what every other one returns."""

    def __init__(self) -> None:
        self._tally = _Tally()
        # a method's handler is fixed once the server runs: guard each one once
        self._guarded: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = details.method or ""
        guarded = self._guarded.get(method)
        if guarded is not None:
            return guarded
        handler = await continuation(details)
        if handler is None:
            return handler  # no such method: grpc answers UNIMPLEMENTED by itself
        guarded = self._guarded[method] = _guard(handler, method, self._tally)
        return guarded


def _decoder(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # protobuf's DecodeError, or anything a hostile payload provokes
            return UNDECODABLE

    return decode


async def _messages(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for msg in requests:
        if msg is UNDECODABLE:
            raise UndecodableMessage()
        yield msg


async def _fail(
    context: grpc.aio.ServicerContext, method: str, exc: BaseException, tally: _Tally
) -> None:
    if isinstance(exc, UndecodableMessage):
        tally.refused(method, context.peer())
        await context.abort(grpc.StatusCode.INTERNAL, UNMARSHAL_MESSAGE)
    report_unexpected(log, exc, f"{method} from {context.peer()}")
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL)


def _guard(handler: grpc.RpcMethodHandler, method: str, tally: _Tally) -> grpc.RpcMethodHandler:
    decode = _decoder(handler.request_deserializer)
    serialize = handler.response_serializer

    async def unary_call(inner: Callable[..., Any], request: Any, context: Any) -> Any:
        if request is UNDECODABLE:
            tally.refused(method, context.peer())
            await context.abort(grpc.StatusCode.INTERNAL, UNMARSHAL_REQUEST)
        try:
            return await inner(request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as exc:
            await _fail(context, method, exc, tally)

    def streamed(inner: Callable[..., Any], stream_in: bool) -> Callable[..., Any]:
        if not inspect.isasyncgenfunction(inner):
            # a servicer that writes with context.write: a coroutine like a unary one
            async def coroutine(request: Any, context: Any) -> Any:
                if stream_in:
                    request = _messages(request)
                return await unary_call(inner, request, context)

            return coroutine

        async def generator(request: Any, context: Any) -> AsyncIterator[Any]:
            if not stream_in and request is UNDECODABLE:
                tally.refused(method, context.peer())
                await context.abort(grpc.StatusCode.INTERNAL, UNMARSHAL_REQUEST)
            try:
                async for response in inner(_messages(request) if stream_in else request, context):
                    yield response
            except (grpc.aio.AbortError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                await _fail(context, method, exc, tally)

        return generator

    if handler.unary_unary is not None:
        uu = handler.unary_unary

        async def unary_unary(request: Any, context: Any) -> Any:
            return await unary_call(uu, request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, decode, serialize)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            streamed(handler.unary_stream, False), decode, serialize
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            streamed(handler.stream_unary, True), decode, serialize
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            streamed(handler.stream_stream, True), decode, serialize
        )
    return handler
