from __future__ import annotations

import grpc
from grpc import aio

from gateway.aio.transport import translate
from gateway.errors import (
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
    encode_rpc_status,
)


def _rpc_error(code: grpc.StatusCode, message: str, details: list[ErrorDetail]) -> aio.AioRpcError:
    trailers = aio.Metadata(
        ("grpc-status-details-bin", encode_rpc_status(code.value[0], message, details))
    )
    return aio.AioRpcError(code, aio.Metadata(), trailers, details=message)


def test_errors_translate_decodes_per_peer_details() -> None:
    details = [
        ErrorDetail("peer0.tso.cbp.local:7051", "TSOMSP", "chaincode response 500, POD unknown"),
        ErrorDetail("peer0.bsphost.cbp.local:8051", "BSPHostMSP", "chaincode response 500"),
    ]
    exc = _rpc_error(grpc.StatusCode.ABORTED, "failed to endorse transaction", details)
    err = translate(exc, EndorseError, "tx42")
    assert isinstance(err, EndorseError) and isinstance(err, GatewayError)
    assert err.code == "ABORTED"
    assert err.transaction_id == "tx42"
    assert err.details == tuple(details)
    assert "peer0.tso.cbp.local:7051 (TSOMSP): chaincode response 500, POD unknown" in str(err)


def test_errors_translate_without_details_keeps_code_and_message() -> None:
    exc = aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED, aio.Metadata(), aio.Metadata(), details="Deadline"
    )
    err = translate(exc, SubmitError, "tx1")
    assert (err.code, err.message, err.details) == ("DEADLINE_EXCEEDED", "Deadline", ())


def test_errors_translate_survives_garbage_trailer() -> None:
    exc = aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        aio.Metadata(),
        aio.Metadata(("grpc-status-details-bin", b"\xff\xff\xff")),
        details="down",
    )
    err = translate(exc, GatewayError, None)
    assert err.code == "UNAVAILABLE" and err.details == ()
