"""The one module that touches gRPC: channels, the Gateway and Deliver calls, error translation.

Everything above this module works on Fabric protobuf messages and this package's exceptions;
gRPC errors are translated here, once, with `raise ... from exc` so the gRPC error stays
reachable as `__cause__`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import events_pb2
from grpc import aio

from gateway.errors import (
    CommitStatusError,
    EndorseError,
    EventsError,
    GatewayError,
    ProtocolError,
    SubmitError,
    decode_rpc_status,
)
from gateway.events import BlockEventKind

log = logging.getLogger(__name__)

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
# Fabric's own default limit (100 MiB) so large blocks and 50 MB arguments pass.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class TlsSettings:
    """Server verification (root CA PEM, host name) and optional mutual-TLS client credentials."""

    root_certificates: bytes
    hostname_override: str | None = None
    client_certificate: bytes | None = None
    client_key: bytes | None = None


def strip_scheme(endpoint: str) -> str:
    """`grpcs://127.0.0.1:7051` -> `127.0.0.1:7051` (profiles write URLs, gRPC wants targets)."""
    for scheme in ("grpcs://", "grpc://"):
        if endpoint.startswith(scheme):
            return endpoint[len(scheme) :]
    return endpoint


def open_channel(endpoint: str, tls: TlsSettings | None) -> aio.Channel:
    """A grpc.aio channel; plain text only when `tls` is None (the caller decided that)."""
    target = strip_scheme(endpoint)
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", 120_000),
    ]
    if tls is None:
        log.debug("opening plain-text channel to %s", target)
        return aio.insecure_channel(target, options=options)
    if tls.hostname_override:
        options += [
            ("grpc.ssl_target_name_override", tls.hostname_override),
            ("grpc.default_authority", tls.hostname_override),
        ]
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.root_certificates,
        private_key=tls.client_key,
        certificate_chain=tls.client_certificate,
    )
    log.debug("opening TLS channel to %s (server name %s)", target, tls.hostname_override)
    return aio.secure_channel(target, credentials, options=options)


def translate(
    exc: aio.AioRpcError, error_cls: type[GatewayError], transaction_id: str | None
) -> GatewayError:
    """A gateway exception with the per-peer details decoded from the gRPC trailers."""
    details: tuple[Any, ...] = ()
    message = exc.details() or ""
    for key, value in exc.trailing_metadata() or ():
        if key != _STATUS_DETAILS_KEY:
            continue
        try:
            status = decode_rpc_status(value if isinstance(value, bytes) else value.encode())
        except ProtocolError:
            log.warning("undecodable %s trailer from gateway", _STATUS_DETAILS_KEY)
            continue
        details += status.details
        message = message or status.message
    code = exc.code()
    return error_cls(
        message,
        code=code.name if code else "UNKNOWN",
        details=details,
        transaction_id=transaction_id,
    )


_GATEWAY = "/gateway.Gateway/"
_DELIVER = "/protos.Deliver/"


def _ser(message: Any) -> bytes:
    return bytes(message.SerializeToString())


class ResponseStream:
    """Responses of a server-streaming call, iterated with `async for`; `cancel()` ends it."""

    def __init__(
        self,
        call: Any,
        *,
        transaction_id: str | None = None,
        first_request: Any | None = None,
    ) -> None:
        self._call = call
        self._first_request = first_request
        self._tx = transaction_id
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        try:
            if self._first_request is not None:
                # Deliver is bidirectional: send the seek and keep our side open, as the
                # official clients do, so no server reads a half-close as "stop".
                await self._call.write(self._first_request)
            while True:
                response = await self._call.read()
                if response is aio.EOF:
                    return
                yield response
        except aio.AioRpcError as exc:
            if self._cancelled:
                return
            raise translate(exc, EventsError, self._tx) from exc
        except asyncio.CancelledError:
            if self._cancelled:
                return
            raise


class GatewayTransport:
    """Calls of the `gateway.Gateway` and `protos.Deliver` services over one channel."""

    def __init__(self, channel: aio.Channel) -> None:
        self.channel = channel
        self._endorse = channel.unary_unary(
            _GATEWAY + "Endorse", _ser, gateway_pb2.EndorseResponse.FromString
        )
        self._submit = channel.unary_unary(
            _GATEWAY + "Submit", _ser, gateway_pb2.SubmitResponse.FromString
        )
        self._commit_status = channel.unary_unary(
            _GATEWAY + "CommitStatus", _ser, gateway_pb2.CommitStatusResponse.FromString
        )
        self._evaluate = channel.unary_unary(
            _GATEWAY + "Evaluate", _ser, gateway_pb2.EvaluateResponse.FromString
        )
        self._chaincode_events = channel.unary_stream(
            _GATEWAY + "ChaincodeEvents", _ser, gateway_pb2.ChaincodeEventsResponse.FromString
        )
        self._deliver = {
            kind: channel.stream_stream(
                _DELIVER + kind.value, _ser, events_pb2.DeliverResponse.FromString
            )
            for kind in BlockEventKind
        }

    @classmethod
    def open(cls, endpoint: str, tls: TlsSettings | None) -> GatewayTransport:
        return cls(open_channel(endpoint, tls))

    async def _unary(
        self,
        method: Any,
        request: Any,
        error_cls: type[GatewayError],
        transaction_id: str | None,
        timeout: float | None,
    ) -> Any:
        try:
            return await method(request, timeout=timeout)
        except aio.AioRpcError as exc:
            raise translate(exc, error_cls, transaction_id) from exc

    async def evaluate(self, request: Any, timeout: float | None) -> Any:
        return await self._unary(
            self._evaluate, request, GatewayError, request.transaction_id, timeout
        )

    async def endorse(self, request: Any, timeout: float | None) -> Any:
        return await self._unary(
            self._endorse, request, EndorseError, request.transaction_id, timeout
        )

    async def submit(self, request: Any, timeout: float | None) -> Any:
        return await self._unary(
            self._submit, request, SubmitError, request.transaction_id, timeout
        )

    async def commit_status(self, request: Any, transaction_id: str, timeout: float | None) -> Any:
        return await self._unary(
            self._commit_status, request, CommitStatusError, transaction_id, timeout
        )

    def chaincode_events(self, request: Any, timeout: float | None) -> ResponseStream:
        return ResponseStream(self._chaincode_events(request, timeout=timeout))

    def deliver(self, envelope: Any, kind: BlockEventKind, timeout: float | None) -> ResponseStream:
        return ResponseStream(self._deliver[kind](timeout=timeout), first_request=envelope)

    async def close(self, grace: float | None = None) -> None:
        await self.channel.close(grace)
