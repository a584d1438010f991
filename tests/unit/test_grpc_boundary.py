"""The one error boundary on every gRPC service (hardening/grpc_boundary.py, for the engine's
peers and orderer and for the chaincode servers), on a real grpc.aio server on
127.0.0.1: bad bytes get Fabric's status and wording, a servicer's bug gets INTERNAL and one
traceback per place, deliberate statuses pass; and a peer finds a dead chaincode at once."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import events_pb2, events_pb2_grpc, peer_pb2_grpc, proposal_response_pb2

import hardening.grpc_boundary as grpc_boundary
from network.embedded.chaincode_handler import ChaincodeHandler
from network.embedded.tls import ChaincodeConnection

BOUNDARIES = [grpc_boundary]


class _Endorser(peer_pb2_grpc.EndorserServicer):
    async def ProcessProposal(self, request: Any, context: Any) -> Any:  # noqa: N802
        if request.signature == b"abort":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "access denied")
        if request.signature == b"bug":
            raise ZeroDivisionError("division by zero")
        return proposal_response_pb2.ProposalResponse(version=1)


class _Deliver(events_pb2_grpc.DeliverServicer):
    async def Deliver(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:  # noqa: N802
        async for _env in request_iterator:
            yield events_pb2.DeliverResponse(status=common_pb2.SUCCESS)


async def _call(boundary: Any, what: str) -> tuple[str, str]:
    server = grpc.aio.server(interceptors=[boundary.ErrorBoundary()])
    peer_pb2_grpc.add_EndorserServicer_to_server(_Endorser(), server)
    events_pb2_grpc.add_DeliverServicer_to_server(_Deliver(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            unary = ch.unary_unary("/protos.Endorser/ProcessProposal")
            try:
                if what == "stream":
                    call = ch.stream_stream("/protos.Deliver/Deliver")(iter([b"\xff\xff"]))
                    async for _ in call:
                        pass
                    return "OK", ""
                payload = {"garbage": b"\xff\xff", "abort": b"\x12\x05abort", "bug": b"\x12\x03bug"}
                await unary(payload.get(what, b""), timeout=5)
                return "OK", ""
            except grpc.aio.AioRpcError as exc:
                return exc.code().name, exc.details() or ""
    finally:
        await server.stop(0)


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=["hardening"])
def test_undecodable_request_is_internal_with_grpc_go_wording_and_no_traceback(
    boundary: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        code, details = asyncio.run(_call(boundary, "garbage"))
        stream_code, stream_details = asyncio.run(_call(boundary, "stream"))
    assert (code, details) == (
        "INTERNAL",
        "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data",
    )
    assert stream_code == "INTERNAL"
    assert stream_details.startswith("grpc: failed to unmarshal the received message")
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=["hardening"])
def test_servicer_bug_is_internal_and_deliberate_status_passes(
    boundary: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert asyncio.run(_call(boundary, "abort")) == ("PERMISSION_DENIED", "access denied")
        for _ in range(3):
            assert asyncio.run(_call(boundary, "bug")) == ("INTERNAL", "internal error")
        assert asyncio.run(_call(boundary, "ok"))[0] == "OK"
    traces = [r for r in caplog.records if r.exc_info]
    assert len(traces) <= 1  # once for the place (none if an earlier test logged it)
    assert sum("ZeroDivisionError" in r.getMessage() for r in caplog.records) == 3
    assert "division by zero" not in asyncio.run(_call(boundary, "bug"))[1]


def test_peer_reports_a_chaincode_that_refuses_connections_at_once() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = ChaincodeConnection(address=f"127.0.0.1:{port}", dial_timeout=10.0)
    handler = ChaincodeHandler("registry", conn, "peer0.tso.cbp.local")
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="is unreachable"):
        asyncio.run(handler.start())
    assert time.monotonic() - started < 2.0  # not the 10 s dial timeout
