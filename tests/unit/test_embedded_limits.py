"""The peer's concurrency limits refuse the call past the limit at once, as Fabric's limiter."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc

from network.embedded.limits import ConcurrencyLimiter


class _Held(gateway_pb2_grpc.GatewayServicer):
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def Evaluate(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
        self.entered += 1
        await self.release.wait()
        return gateway_pb2.EvaluateResponse()

    async def ChaincodeEvents(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
        self.entered += 1
        await self.release.wait()
        yield gateway_pb2.ChaincodeEventsResponse(block_number=7)


async def _serve(servicer: _Held, limit: int) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(interceptors=[ConcurrencyLimiter({"/gateway.Gateway": limit})])
    gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


def test_embedded_limits_refuse_past_the_limit_then_admit_again() -> None:
    async def run() -> None:
        servicer = _Held()
        server, address = await _serve(servicer, limit=2)
        try:
            async with grpc.aio.insecure_channel(address) as channel:
                stub = gateway_pb2_grpc.GatewayStub(channel)
                held = [
                    asyncio.ensure_future(stub.Evaluate(gateway_pb2.EvaluateRequest()))
                    for _ in range(2)
                ]
                while servicer.entered < 2:
                    await asyncio.sleep(0.01)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.Evaluate(gateway_pb2.EvaluateRequest())
                assert refused.value.code() == grpc.StatusCode.UNKNOWN
                assert refused.value.details() == (
                    "too many requests for /gateway.Gateway, exceeding concurrency limit (2)"
                )
                stream = stub.ChaincodeEvents(gateway_pb2.SignedChaincodeEventsRequest())
                with pytest.raises(grpc.aio.AioRpcError):
                    async for _ in stream:
                        pass
                servicer.release.set()
                await asyncio.gather(*held)
                assert servicer.entered == 2  # the refused calls never reached the service
                await stub.Evaluate(gateway_pb2.EvaluateRequest())
                responses = [
                    r
                    async for r in stub.ChaincodeEvents(gateway_pb2.SignedChaincodeEventsRequest())
                ]
                assert [r.block_number for r in responses] == [7]
        finally:
            await server.stop(None)

    asyncio.run(run())
