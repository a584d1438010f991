"""The gateway client's exceptions, and the decoding of the peers' error details.

Exception tree (every error carries the transaction id where there is one)::

    GatewayClientError                 anything this package raises on purpose
    ├── IdentityError                  a certificate, key, MSP folder, wallet or profile is unusable
    ├── ProtocolError                  a peer answered with something Fabric would not send
    ├── GatewayError                   a gRPC call to the gateway peer failed (code, details)
    │   ├── EndorseError               Endorse failed: the transaction was never ordered
    │   ├── SubmitError                Submit failed: the orderer may not have received it
    │   ├── CommitStatusError          CommitStatus failed: the outcome is unknown, ask again
    │   └── EventsError                ChaincodeEvents or Deliver failed or ended early
    └── CommitError                    committed but invalid (validation code, e.g. MVCC_READ_CONFLICT)

`GatewayError.details` lists what each peer or orderer said (`ErrorDetail`), decoded from the
`google.rpc.Status` in the gRPC trailers, as the Fabric gateway sends them. Evaluate failures
raise plain `GatewayError`. A timeout is a `GatewayError` whose `code` is `DEADLINE_EXCEEDED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.rpc import status_pb2


@dataclass(frozen=True)
class ErrorDetail:
    """What one endorsing peer or orderer reported, as the gateway relays it."""

    address: str
    msp_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.address} ({self.msp_id}): {self.message}"


class GatewayClientError(Exception):
    """Base of every error raised on purpose by the gateway client."""


class IdentityError(GatewayClientError):
    """A certificate, private key, MSP folder, wallet or connection profile cannot be used."""


class ProtocolError(GatewayClientError):
    """A response that does not decode as Fabric defines it."""


class GatewayError(GatewayClientError):
    """A gRPC call to the gateway failed.

    `code` is the gRPC status code name (e.g. "ABORTED", "DEADLINE_EXCEEDED", "UNAVAILABLE").
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        details: tuple[ErrorDetail, ...] = (),
        transaction_id: str | None = None,
    ) -> None:
        self.code = code
        self.details = details
        self.transaction_id = transaction_id
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{type(self).__name__} [{self.code}]"
        if self.transaction_id:
            head += f" transaction {self.transaction_id}"
        lines = [f"{head}: {self.message}"]
        lines += [f"  - {d}" for d in self.details]
        return "\n".join(lines)


class EndorseError(GatewayError):
    """Endorsement failed; nothing was sent to the orderer, so retrying is safe."""


class SubmitError(GatewayError):
    """Submission to the orderer failed; the transaction may or may not have been ordered."""


class CommitStatusError(GatewayError):
    """The commit status could not be obtained; the transaction's outcome is still unknown."""


class EventsError(GatewayError):
    """An event stream (chaincode events or block delivery) failed or ended unexpectedly."""


class CommitError(GatewayClientError):
    """The transaction was committed to a block but marked invalid by validation."""

    def __init__(self, transaction_id: str, code: int, block_number: int) -> None:
        self.transaction_id = transaction_id
        self.code = code
        self.code_name = validation_code_name(code)
        self.block_number = block_number
        super().__init__(
            f"transaction {transaction_id} was committed in block {block_number} as invalid: "
            f"{self.code_name} ({code}); a valid transaction has code VALID (0)"
        )


def validation_code_name(code: int) -> str:
    """Fabric's name of a `TxValidationCode`, e.g. 11 -> "MVCC_READ_CONFLICT"."""
    try:
        return str(transaction_pb2.TxValidationCode.Name(code))
    except ValueError:
        return f"UNKNOWN_CODE_{code}"


@dataclass(frozen=True)
class RpcStatus:
    """A decoded `google.rpc.Status`: the gRPC code, message and the gateway's error details."""

    code: int
    message: str
    details: tuple[ErrorDetail, ...] = field(default=())


def encode_rpc_status(code: int, message: str, details: list[ErrorDetail]) -> bytes:
    """Serialise a `google.rpc.Status` with gateway error details (for servers and tests)."""
    status = status_pb2.Status(code=code, message=message)
    for d in details:
        status.details.add().Pack(
            gateway_pb2.ErrorDetail(address=d.address, msp_id=d.msp_id, message=d.message)
        )
    return bytes(status.SerializeToString())


def decode_rpc_status(data: bytes) -> RpcStatus:
    """Decode the `grpc-status-details-bin` trailer; details of other types are skipped."""
    status = status_pb2.Status()
    try:
        status.ParseFromString(data)
    except Exception as exc:  # protobuf raises its own DecodeError subclass
        raise ProtocolError(f"grpc-status-details-bin is not a google.rpc.Status: {exc}") from exc
    details: list[ErrorDetail] = []
    for entry in status.details:
        d = gateway_pb2.ErrorDetail()
        if not entry.Unpack(d):  # a detail of another type
            continue
        details.append(ErrorDetail(address=d.address, msp_id=d.msp_id, message=d.message))
    return RpcStatus(code=int(status.code), message=str(status.message), details=tuple(details))
