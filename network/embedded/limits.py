"""The peer's per-service concurrency limits, as Fabric's `internal/peer/node/grpc_limiters.go`.

core.yaml's `peer.limits.concurrency` defaults: 2500 calls in flight for `protos.Endorser`, 2500
for `protos.Deliver`, 500 for `gateway.Gateway`. A call past the limit is refused at once with
Fabric's message (status UNKNOWN, since Fabric returns a plain error), never queued; a long
CommitStatus wait holds its place like any other call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

log = logging.getLogger(__name__)

DEFAULT_LIMITS = {"/protos.Endorser": 2500, "/protos.Deliver": 2500, "/gateway.Gateway": 500}


class _Slots:
    def __init__(self, service: str, limit: int) -> None:
        self.service = service
        self.limit = limit
        self.in_flight = 0  # the server's event loop is the only writer

    def refusal(self) -> str:
        return f"too many requests for {self.service}, exceeding concurrency limit ({self.limit})"


class ConcurrencyLimiter(grpc.aio.ServerInterceptor):
    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self._slots = {s: _Slots(s, n) for s, n in (limits or DEFAULT_LIMITS).items() if n > 0}
        # A method's handler is fixed once the server runs (servicers are added before start),
        # so each limited handler is built once, not on every call.
        self._limited: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = details.method or ""
        limited = self._limited.get(method)
        if limited is not None:
            return limited
        handler = await continuation(details)
        slots = self._slots.get(method[: method.rfind("/")])
        if handler is None or slots is None:
            return handler
        limited = self._limited[method] = _limited(handler, slots)
        return limited


def _limited(handler: grpc.RpcMethodHandler, slots: _Slots) -> grpc.RpcMethodHandler:
    async def refuse(context: grpc.aio.ServicerContext) -> None:
        log.error(
            "Too many requests for %s, exceeding concurrency limit (%d)", slots.service, slots.limit
        )
        await context.abort(grpc.StatusCode.UNKNOWN, slots.refusal())

    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if slots.in_flight >= slots.limit:
                await refuse(context)
            slots.in_flight += 1
            try:
                return await inner_uu(request, context)
            finally:
                slots.in_flight -= 1

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )

    def streaming(inner: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if slots.in_flight >= slots.limit:
                await refuse(context)
            slots.in_flight += 1
            try:
                async for response in inner(request, context):
                    yield response
            finally:
                slots.in_flight -= 1

        return wrapped

    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            streaming(handler.unary_stream),
            handler.request_deserializer,
            handler.response_serializer,
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            streaming(handler.stream_stream),
            handler.request_deserializer,
            handler.response_serializer,
        )
    return handler
