"""One peer's chaincodes: launch (dial) on first use, execute, chaincode-to-chaincode calls.

Mirrors `core/chaincode/chaincode_support.go`: a chaincode-as-a-service server is dialled when
a transaction first needs it and again after its stream ends; `execute` turns the chaincode's
COMPLETED or ERROR message into a `peer.Response` and event, with Fabric's error texts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_response_pb2

from .chaincode_handler import (
    ChaincodeHandler,
    ChaincodeStreamTerminated,
    ChaincodeTimeout,
    HandlerError,
    Msg,
    T,
    TransactionContext,
)
from .tls import ChaincodeConnection

log = logging.getLogger(__name__)

DEFAULT_EXECUTE_TIMEOUT = 30.0  # core.yaml chaincode.executetimeout


class ChaincodeExecutionError(Exception):
    """Executing a chaincode failed in the peer (not a chaincode error response)."""


class ChaincodeSupport:
    """The chaincode streams of one peer, one per chaincode server."""

    def __init__(
        self,
        peer: str,
        connections: dict[str, ChaincodeConnection],
        *,
        execute_timeout: float = DEFAULT_EXECUTE_TIMEOUT,
        ledger_for: Callable[[str], Any | None] | None = None,
    ) -> None:
        self.peer = peer
        self.connections = dict(connections)
        self.execute_timeout = execute_timeout
        self._ledger_for = ledger_for
        self._handlers: dict[str, ChaincodeHandler] = {}
        self._launching: dict[str, asyncio.Lock] = {}
        self._package_ids: dict[str, str] = {}  # chaincode -> package id the peer runs
        self._closing: set[asyncio.Task[None]] = set()

    def bind(self, chaincode: str, package: Any) -> None:
        """Run `chaincode` from the installed package its org approved: dial the server its
        connection.json names, and expect it to register with the package id (as Fabric
        launches a chaincode-as-a-service package)."""
        if self._package_ids.get(chaincode) == package.package_id:
            return
        if package.connection is None:
            raise ChaincodeExecutionError(
                f"could not launch chaincode {package.package_id}: package type "
                f"'{package.type}' is not chaincode-as-a-service, the only kind this peer runs"
            )
        self._package_ids[chaincode] = package.package_id
        self.connections[chaincode] = package.connection
        old = self._handlers.pop(chaincode, None)
        if old is not None:  # the stream to the previous package's server goes
            task = asyncio.get_running_loop().create_task(old.stop())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def knows(self, chaincode: str) -> bool:
        return chaincode in self.connections

    async def handler(self, chaincode: str) -> ChaincodeHandler:
        """The live stream to `chaincode`, dialling it if there is none."""
        h = self._handlers.get(chaincode)
        if h is not None and h.alive:
            return h
        lock = self._launching.setdefault(chaincode, asyncio.Lock())
        async with lock:
            h = self._handlers.get(chaincode)
            if h is not None and h.alive:
                return h
            conn = self.connections.get(chaincode)
            if conn is None:
                raise ChaincodeExecutionError(
                    f"could not launch chaincode {chaincode}: no connection.json for it on {self.peer}"
                )
            h = ChaincodeHandler(chaincode, conn, self.peer)
            try:
                await h.start()
                expected = self._package_ids.get(chaincode)
                if expected is not None and h.chaincode_id != expected:
                    await h.stop()
                    raise ConnectionError(
                        f"the server at {conn.address} registered as '{h.chaincode_id}', "
                        f"not as the package '{expected}' this peer runs"
                    )
            except (ConnectionError, OSError, TimeoutError) as exc:
                raise ChaincodeExecutionError(
                    f"could not launch chaincode {chaincode}: {exc}"
                ) from exc
            except Exception as exc:  # grpc errors while dialling
                raise ChaincodeExecutionError(
                    f"could not launch chaincode {chaincode}: {exc}"
                ) from exc
            self._handlers[chaincode] = h
            return h

    async def invoke(
        self, ctx: TransactionContext, chaincode_input: chaincode_pb2.ChaincodeInput
    ) -> Msg:
        """Run the chaincode named by `ctx.namespace`; returns its COMPLETED or ERROR message."""
        h = await self.handler(ctx.namespace)
        if ctx.invoker is None:
            ctx.invoker = self._call_chaincode
        try:
            return await h.execute(ctx, chaincode_input, self.execute_timeout)
        except (ChaincodeTimeout, ChaincodeStreamTerminated, HandlerError) as exc:
            raise ChaincodeExecutionError(
                f"failed to execute transaction {ctx.txid}: {exc}"
            ) from exc

    async def execute(
        self, ctx: TransactionContext, chaincode_input: chaincode_pb2.ChaincodeInput
    ) -> tuple[proposal_response_pb2.Response, chaincode_event_pb2.ChaincodeEvent | None]:
        """Fabric's Execute + processChaincodeExecutionResult."""
        msg = await self.invoke(ctx, chaincode_input)
        event: chaincode_event_pb2.ChaincodeEvent | None = None
        if msg.HasField("chaincode_event"):
            event = chaincode_event_pb2.ChaincodeEvent()
            event.CopyFrom(msg.chaincode_event)
            event.chaincode_id = ctx.namespace
            event.tx_id = ctx.txid
        if msg.type == T.COMPLETED:
            return proposal_response_pb2.Response.FromString(msg.payload), event
        if msg.type == T.ERROR:
            raise ChaincodeExecutionError(
                f"transaction returned with failure: {msg.payload.decode(errors='replace')}"
            )
        raise ChaincodeExecutionError(
            f"unexpected response type {msg.type} for transaction {ctx.txid}"
        )

    async def _call_chaincode(
        self,
        ctx: TransactionContext,
        channel: str,
        chaincode: str,
        chaincode_input: chaincode_pb2.ChaincodeInput,
    ) -> Msg:
        """INVOKE_CHAINCODE: same channel shares the simulator; another channel reads only."""
        target = replace(ctx, namespace=chaincode, queries={}, response=None)
        if channel != ctx.channel_id:
            ledger = self._ledger_for(channel) if self._ledger_for else None
            if ledger is None:
                raise HandlerError(f"failed to find ledger for channel: {channel}")
            # Writes on the other channel are simulated and dropped, as in Fabric.
            target = replace(
                target,
                channel_id=channel,
                simulator=ledger.new_tx_simulator(ctx.txid),
                history=ledger.get_history,
            )
        return await self.invoke(target, chaincode_input)

    async def stop(self) -> None:
        for h in list(self._handlers.values()):
            await h.stop()
        self._handlers.clear()
