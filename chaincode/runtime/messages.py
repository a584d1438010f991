"""Protobuf classes of the chaincode protocol, looked up once, and the READY parameters.

``ChaincodeAdditionalParams`` (what a Fabric 3.x peer puts in READY) is missing from the pinned
``fabric_protos`` release, so its four scalar fields are decoded here by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    chaincode_shim_pb2,
    proposal_response_pb2,
)

__all__ = [
    "ChaincodeMessage",
    "PeerParams",
    "decode_peer_params",
    "message_type_name",
]

ChaincodeMessage = chaincode_shim_pb2.ChaincodeMessage
ChaincodeEvent = chaincode_event_pb2.ChaincodeEvent
ChaincodeInput = chaincode_pb2.ChaincodeInput
ChaincodeID = chaincode_pb2.ChaincodeID
ChaincodeSpec = chaincode_pb2.ChaincodeSpec
Response = proposal_response_pb2.Response

T = ChaincodeMessage.Type
REGISTER = T.Value("REGISTER")
REGISTERED = T.Value("REGISTERED")
INIT = T.Value("INIT")
READY = T.Value("READY")
TRANSACTION = T.Value("TRANSACTION")
COMPLETED = T.Value("COMPLETED")
ERROR = T.Value("ERROR")
GET_STATE = T.Value("GET_STATE")
PUT_STATE = T.Value("PUT_STATE")
DEL_STATE = T.Value("DEL_STATE")
INVOKE_CHAINCODE = T.Value("INVOKE_CHAINCODE")
RESPONSE = T.Value("RESPONSE")
GET_STATE_BY_RANGE = T.Value("GET_STATE_BY_RANGE")
GET_QUERY_RESULT = T.Value("GET_QUERY_RESULT")
QUERY_STATE_NEXT = T.Value("QUERY_STATE_NEXT")
QUERY_STATE_CLOSE = T.Value("QUERY_STATE_CLOSE")
KEEPALIVE = T.Value("KEEPALIVE")
GET_HISTORY_FOR_KEY = T.Value("GET_HISTORY_FOR_KEY")
GET_STATE_METADATA = T.Value("GET_STATE_METADATA")
PUT_STATE_METADATA = T.Value("PUT_STATE_METADATA")
GET_PRIVATE_DATA_HASH = T.Value("GET_PRIVATE_DATA_HASH")
PURGE_PRIVATE_DATA = T.Value("PURGE_PRIVATE_DATA")
WRITE_BATCH_STATE = T.Value("WRITE_BATCH_STATE")
GET_STATE_MULTIPLE = T.Value("GET_STATE_MULTIPLE")

STATUS_OK = 200
STATUS_ERROR = 500
ERROR_THRESHOLD = 400  # Fabric treats any response status from 400 up as a failed proposal

_TYPE_NAMES = {value: name for name, value in T.items()}


def message_type_name(value: int) -> str:
    return _TYPE_NAMES.get(value, str(value))


@dataclass(frozen=True, slots=True)
class PeerParams:
    """What the peer said it accepts, in READY (Fabric 3.x); all off for older peers."""

    use_write_batch: bool = False
    max_size_write_batch: int = 0
    use_get_multiple_keys: bool = False
    max_size_get_multiple_keys: int = 0


# the shims' floors: a peer that asks for smaller batches still gets these
MIN_WRITE_BATCH = 100
MIN_GET_MULTIPLE = 100


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def decode_peer_params(payload: bytes) -> PeerParams:
    """Decode ChaincodeAdditionalParams{1 use_write_batch, 2 max_size_write_batch,
    3 use_get_multiple_keys, 4 max_size_get_multiple_keys}; unknown fields are skipped."""
    values = {1: 0, 2: 0, 3: 0, 4: 0}
    pos = 0
    while pos < len(payload):
        tag, pos = _read_varint(payload, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(payload, pos)
            if field in values:
                values[field] = value
        elif wire == 2:
            length, pos = _read_varint(payload, pos)
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire} in READY payload")
    use_batch = bool(values[1])
    use_multi = bool(values[3])
    return PeerParams(
        use_write_batch=use_batch,
        max_size_write_batch=max(values[2], MIN_WRITE_BATCH) if use_batch else 0,
        use_get_multiple_keys=use_multi,
        max_size_get_multiple_keys=max(values[4], MIN_GET_MULTIPLE) if use_multi else 0,
    )


def encode_peer_params(params: PeerParams) -> bytes:
    """The inverse of decode_peer_params, for test peers."""
    out = bytearray()
    for field, value in (
        (1, int(params.use_write_batch)),
        (2, params.max_size_write_batch),
        (3, int(params.use_get_multiple_keys)),
        (4, params.max_size_get_multiple_keys),
    ):
        if value:
            out.append(field << 3)
            while value > 0x7F:
                out.append((value & 0x7F) | 0x80)
                value >>= 7
            out.append(value)
    return bytes(out)
