"""The chaincode-as-a-service gRPC server: service ``protos.Chaincode``, bidi ``Connect``.

Peers dial it; on each stream the chaincode sends REGISTER and a ``ChaincodeHandler`` runs the
protocol. One asyncio loop reads and writes every stream; transactions run on one bounded
thread pool shared by all streams, so the readers never block on contract code.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from fabric_protos.peer import chaincode_shim_pb2_grpc

from hardening.grpc_boundary import UNMARSHAL_MESSAGE, ErrorBoundary, UndecodableMessage

from . import messages as m
from .config import ServerSettings
from .errors import ProtocolError
from .handler import Chaincode, ChaincodeHandler

__all__ = ["ChaincodeServer", "ServerThread", "grpc_options"]

logger = logging.getLogger(__name__)


def grpc_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        # as Fabric's chaincode server: ping idle peers every minute, drop after 20 s silence
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # peers ping every 60 s (Fabric's client default); never answer that with GOAWAY
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 0),
        # a second server on a taken port must fail, not share it
        ("grpc.so_reuseport", 0),
    ]


class _Outbox:
    """Messages to one peer, put from any thread, written by the loop in order.

    A put wakes the loop only when no wake-up is pending, so a burst of replies from many
    workers costs one cross-thread wake-up, not one per message.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[m.ChaincodeMessage] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._wakeup = asyncio.Event()
        self._closed = False

    def put(self, msg: m.ChaincodeMessage) -> None:
        if self._closed:
            return
        self._items.append(msg)
        self._schedule()

    def close(self) -> None:
        self._closed = True
        self._schedule()

    def _schedule(self) -> None:
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:
            pass  # the loop is gone: the stream is over

    def _wake(self) -> None:
        with self._lock:
            self._scheduled = False
        self._wakeup.set()

    async def messages(self) -> AsyncIterator[m.ChaincodeMessage]:
        items = self._items
        while True:
            while items:
                yield items.popleft()
            if self._closed:
                return
            self._wakeup.clear()
            if items or self._closed:
                continue
            await self._wakeup.wait()


class _ChaincodeService(chaincode_shim_pb2_grpc.ChaincodeServicer):
    def __init__(
        self, chaincode: Chaincode, settings: ServerSettings, executor: ThreadPoolExecutor
    ) -> None:
        self._chaincode = chaincode
        self._settings = settings
        self._executor = executor
        self.streams = 0

    async def Connect(  # noqa: N802 - the gRPC method name
        self,
        request_iterator: AsyncIterator[m.ChaincodeMessage],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[m.ChaincodeMessage]:
        peer = context.peer()
        outbox = _Outbox(asyncio.get_running_loop())
        handler = ChaincodeHandler(
            self._chaincode,
            self._settings.chaincode_id,
            outbox.put,
            self._executor,
            reply_timeout=self._settings.reply_timeout,
        )
        self.streams += 1
        logger.info("peer %s connected", peer)
        handler.start()
        reader = asyncio.create_task(self._read(request_iterator, handler, outbox, peer))
        try:
            async for msg in outbox.messages():
                yield msg
        finally:
            reader.cancel()
            handler.close()
            outbox.close()
            self.streams -= 1
            logger.info("peer %s disconnected", peer)
        if reader.done() and not reader.cancelled() and reader.result() == "undecodable":
            await context.abort(grpc.StatusCode.INTERNAL, UNMARSHAL_MESSAGE)

    @staticmethod
    async def _read(
        requests: AsyncIterator[m.ChaincodeMessage],
        handler: ChaincodeHandler,
        outbox: _Outbox,
        peer: str,
    ) -> str:
        """Feed the peer's messages to the handler; how the stream ended."""
        try:
            async for msg in requests:
                handler.handle(msg)
        except ProtocolError as exc:
            logger.warning("closing stream from %s: %s", peer, exc)
            return "protocol"
        except UndecodableMessage:
            logger.warning("closing stream from %s: a message was not a ChaincodeMessage", peer)
            return "undecodable"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure ends this stream only
            logger.info("stream from %s ended: %s", peer, exc)
            return "failed"
        finally:
            handler.close()
            outbox.close()
        return "ended"


class ChaincodeServer:
    """The gRPC server of one chaincode; start/stop from a running asyncio loop."""

    def __init__(self, chaincode: Chaincode, settings: ServerSettings) -> None:
        self._chaincode = chaincode
        self._settings = settings
        self._executor: ThreadPoolExecutor | None = None
        self._server: grpc.aio.Server | None = None
        self._service: _ChaincodeService | None = None
        self.port: int | None = None

    @property
    def settings(self) -> ServerSettings:
        return self._settings

    def connected_peers(self) -> int:
        return self._service.streams if self._service else 0

    def _credentials(self) -> grpc.ServerCredentials | None:
        s = self._settings
        if s.tls_cert is None or s.tls_key is None:
            return None
        client_ca = s.client_ca_cert.read_bytes() if s.client_ca_cert else None
        return grpc.ssl_server_credentials(
            [(s.tls_key.read_bytes(), s.tls_cert.read_bytes())],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )

    async def start(self) -> int:
        """Bind and serve; returns the bound port (useful with port 0)."""
        s = self._settings
        self._executor = ThreadPoolExecutor(max_workers=s.workers, thread_name_prefix="cc-tx")
        self._service = _ChaincodeService(self._chaincode, s, self._executor)
        server = grpc.aio.server(
            options=grpc_options(s.max_message_bytes), interceptors=[ErrorBoundary()]
        )
        chaincode_shim_pb2_grpc.add_ChaincodeServicer_to_server(self._service, server)
        credentials = self._credentials()
        try:
            if credentials is None:
                port = server.add_insecure_port(s.address)
            else:
                port = server.add_secure_port(s.address, credentials)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {s.address}: {exc}") from exc
        if port == 0:
            raise OSError(f"cannot listen on {s.address}: address in use or not local")
        await server.start()
        self._server = server
        self.port = port
        logger.info(
            "chaincode %s serving on %s (port %d, %s)",
            s.chaincode_id,
            s.address,
            port,
            "mutual TLS" if s.client_ca_cert else "TLS" if s.tls else "plaintext",
        )
        return port

    async def stop(self, grace: float | None = 2.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self._executor is not None:
            # workers still waiting for a peer were released when their streams closed
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        logger.info("chaincode %s stopped", self._settings.chaincode_id)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()


class ServerThread:
    """A ChaincodeServer on its own loop in a background thread (tests, embedding).

    with ServerThread(router, settings) as server:
        dial(f"127.0.0.1:{server.port}")
    """

    def __init__(self, chaincode: Chaincode, settings: ServerSettings) -> None:
        self.server = ChaincodeServer(chaincode, settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="cc-server", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.port: int = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.port = self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._loop.run_until_complete(self.server.stop(0))
            self._loop.close()
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.stop(0.5))
        self._loop.close()

    def start(self) -> int:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
        return self.port

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
