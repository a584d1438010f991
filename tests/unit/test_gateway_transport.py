"""The client end to end over real gRPC + TLS, against a fake in-process gateway.Gateway server.

The fake checks every signature the way a peer does (ECDSA over SHA-256, low-S) and answers
with Fabric's messages, so these tests cover transport, signing and error decoding together.
What the ledger does with transactions is the sandbox tier's business, not this file's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from grpc import aio
from test_gateway_helpers import KeyCert, issue, new_ca

from gateway import (
    CommitError,
    EndorseError,
    FileCheckpointer,
    Identity,
    connect,
)
from gateway.errors import ErrorDetail, encode_rpc_status
from gateway.proposal import decode_proposal
from gateway.signing import CURVE_ORDERS

pytestmark = pytest.mark.timeout(30)


def _check_signature(creator: bytes, message: bytes, signature: bytes) -> None:
    sid = identities_pb2.SerializedIdentity.FromString(creator)
    key = x509.load_pem_x509_certificate(sid.id_bytes).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(signature, message, ec.ECDSA(hashes.SHA256()))  # raises if invalid
    _, s = decode_dss_signature(signature)
    assert s <= CURVE_ORDERS["secp256r1"] // 2, "high-S signature: Fabric would reject it"


@dataclass
class FakeLedger:
    submitted: dict[str, str] = field(default_factory=dict)  # tx id -> function
    events: list[tuple[int, str, str]] = field(default_factory=list)  # (block, tx, name)


class FakeGateway(gateway_pb2_grpc.GatewayServicer):  # type: ignore[misc]
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def _verify_proposal(self, signed: Any) -> Any:
        info = decode_proposal(signed.proposal_bytes)
        _check_signature(info.creator, signed.proposal_bytes, signed.signature)
        return info

    async def Evaluate(self, request: Any, context: Any) -> Any:
        info = self._verify_proposal(request.proposed_transaction)
        payload = json.dumps([a.decode() for a in info.args]).encode()
        return gateway_pb2.EvaluateResponse(
            result=proposal_response_pb2.Response(status=200, payload=payload)
        )

    async def Endorse(self, request: Any, context: Any) -> Any:
        info = self._verify_proposal(request.proposed_transaction)
        if info.function == "Fail":
            details = [ErrorDetail("peer0.tso:7051", "TSOMSP", "chaincode response 500, no")]
            await context.abort_with_status(
                _status(grpc.StatusCode.ABORTED, "failed to endorse transaction", details)
            )
        result = json.dumps({"fn": info.function, "args": [a.decode() for a in info.args[1:]]})
        cc_action = proposal_pb2.ChaincodeAction(
            response=proposal_response_pb2.Response(status=200, payload=result.encode())
        )
        prp = proposal_response_pb2.ProposalResponsePayload(extension=cc_action.SerializeToString())
        cap = transaction_pb2.ChaincodeActionPayload(
            action=transaction_pb2.ChaincodeEndorsedAction(
                proposal_response_payload=prp.SerializeToString()
            )
        )
        tx = transaction_pb2.Transaction(
            actions=[transaction_pb2.TransactionAction(payload=cap.SerializeToString())]
        )
        proposal = proposal_pb2.Proposal.FromString(request.proposed_transaction.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        payload = common_pb2.Payload(header=header, data=tx.SerializeToString())
        envelope = common_pb2.Envelope(payload=payload.SerializeToString())
        self.ledger.submitted[info.transaction_id] = info.function
        return gateway_pb2.EndorseResponse(prepared_transaction=envelope)

    async def Submit(self, request: Any, context: Any) -> Any:
        env = request.prepared_transaction
        payload = common_pb2.Payload.FromString(env.payload)
        sh = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        _check_signature(sh.creator, env.payload, env.signature)
        return gateway_pb2.SubmitResponse()

    async def CommitStatus(self, request: Any, context: Any) -> Any:
        req = gateway_pb2.CommitStatusRequest.FromString(request.request)
        _check_signature(req.identity, request.request, request.signature)
        fn = self.ledger.submitted[req.transaction_id]
        code = transaction_pb2.MVCC_READ_CONFLICT if fn == "Conflict" else transaction_pb2.VALID
        return gateway_pb2.CommitStatusResponse(result=code, block_number=7)

    async def ChaincodeEvents(self, request: Any, context: Any) -> AsyncIterator[Any]:
        req = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
        _check_signature(req.identity, request.request, request.signature)
        start = req.start_position.specified.number
        skipping = bool(req.after_transaction_id)
        for block, tx, name in self.ledger.events:
            if block < start:
                continue
            if skipping and block == start:
                if tx == req.after_transaction_id:
                    skipping = False
                continue
            event = chaincode_event_pb2.ChaincodeEvent(
                chaincode_id=req.chaincode_id, tx_id=tx, event_name=name, payload=tx.encode()
            )
            yield gateway_pb2.ChaincodeEventsResponse(events=[event], block_number=block)
        await asyncio.Event().wait()  # a live stream stays open until the client cancels


def _status(code: grpc.StatusCode, message: str, details: list[ErrorDetail]) -> grpc.Status:
    @dataclass
    class _S(grpc.Status):  # type: ignore[misc]
        code: grpc.StatusCode
        details: str
        trailing_metadata: tuple[tuple[str, bytes], ...]

    blob = encode_rpc_status(code.value[0], message, details)
    return _S(code, message, (("grpc-status-details-bin", blob),))


@dataclass
class Server:
    address: str
    tls_ca: bytes
    ledger: FakeLedger


@pytest.fixture()
def server() -> Iterator[Server]:
    ca = new_ca("tlsca.test")
    tls = issue(ca, "peer0.test.local", sans=["peer0.test.local", "127.0.0.1"])
    ledger = FakeLedger()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        srv = aio.server()
        gateway_pb2_grpc.add_GatewayServicer_to_server(FakeGateway(ledger), srv)
        creds = grpc.ssl_server_credentials([(tls.key_pem, tls.cert_pem)])
        holder["port"] = srv.add_secure_port("127.0.0.1:0", creds)
        await srv.start()
        holder["server"] = srv
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    ready.wait(10)
    yield Server(f"127.0.0.1:{holder['port']}", ca.cert_pem, ledger)
    asyncio.run_coroutine_threadsafe(holder["server"].stop(None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.fixture()
def user() -> KeyCert:
    return issue(new_ca("ca.bsp1"), "User1@bsp1.test")


def _connect(server: Server, user: KeyCert, signer: Any = "default") -> Any:
    from gateway.signing import ECDSASigner

    return connect(
        f"grpcs://{server.address}",
        Identity("BSP1MSP", user.cert_pem),
        ECDSASigner(user.key) if signer == "default" else signer,
        tls_root_certificates=server.tls_ca,
        hostname_override="peer0.test.local",
    )


def test_transport_submit_and_evaluate_round_trip(server: Server, user: KeyCert) -> None:
    with _connect(server, user) as gw:
        contract = gw.get_network("bsp1-channel").get_contract("registry")
        result = contract.submit_transaction("RegisterPod", '{"id":"IT1"}', transient={"k": b"v"})
        assert json.loads(result) == {"fn": "RegisterPod", "args": ['{"id":"IT1"}']}
        assert json.loads(contract.evaluate_transaction("ReadPod", "IT1")) == ["ReadPod", "IT1"]
    assert list(server.ledger.submitted.values()) == ["RegisterPod"]


def test_transport_invalid_commit_raises_commit_error(server: Server, user: KeyCert) -> None:
    with _connect(server, user) as gw:
        contract = gw.get_network("ch").get_contract("registry")
        with pytest.raises(CommitError) as info:
            contract.submit_transaction("Conflict")
    assert info.value.code_name == "MVCC_READ_CONFLICT"
    assert info.value.block_number == 7
    assert info.value.transaction_id in server.ledger.submitted


def test_transport_endorse_error_carries_peer_details(server: Server, user: KeyCert) -> None:
    with _connect(server, user) as gw:
        proposal = gw.get_network("ch").get_contract("registry").new_proposal("Fail")
        with pytest.raises(EndorseError) as info:
            proposal.endorse()
    err = info.value
    assert err.code == "ABORTED" and err.transaction_id == proposal.transaction_id
    assert err.details == (ErrorDetail("peer0.tso:7051", "TSOMSP", "chaincode response 500, no"),)


def test_transport_offline_signing_flow(server: Server, user: KeyCert) -> None:
    from gateway.signing import ECDSASigner

    offline = ECDSASigner(user.key)  # held elsewhere: the gateway itself has no signer
    with _connect(server, user, signer=None) as gw:
        unsigned = gw.get_network("ch").get_contract("registry").new_proposal("Offline", "a")
        assert (
            unsigned.digest()
            == hashlib.sha256(
                gateway_pb2.ProposedTransaction.FromString(
                    unsigned.to_bytes()
                ).proposal.proposal_bytes
            ).digest()
        )
        proposal = gw.new_signed_proposal(unsigned.to_bytes(), offline(unsigned.digest()))
        endorsed = proposal.endorse()
        tx = gw.new_signed_transaction(endorsed.to_bytes(), offline(endorsed.digest()))
        commit = tx.submit()
        status = gw.new_signed_commit(commit.to_bytes(), offline(commit.digest())).get_status()
    assert status.successful and status.transaction_id == unsigned.transaction_id
    assert json.loads(tx.result) == {"fn": "Offline", "args": ["a"]}


def test_transport_unsigned_without_signer_names_the_fix(server: Server, user: KeyCert) -> None:
    from gateway import IdentityError

    with _connect(server, user, signer=None) as gw:
        contract = gw.get_network("ch").get_contract("registry")
        with pytest.raises(IdentityError, match="new_signed_"):
            contract.evaluate_transaction("X")


def test_transport_chaincode_events_resume_from_checkpoint(
    server: Server, user: KeyCert, tmp_path: Path
) -> None:
    server.ledger.events = [(3, "t1", "A"), (3, "t2", "B"), (4, "t3", "C"), (5, "t4", "D")]
    path = tmp_path / "cp.json"
    seen: list[str] = []
    with _connect(server, user) as gw:
        network = gw.get_network("ch")
        checkpointer = FileCheckpointer(path)
        with network.chaincode_events("registry", start_block=0, checkpoint=checkpointer) as s:
            for event in s:
                seen.append(event.transaction_id)
                checkpointer.checkpoint_chaincode_event(event)
                if len(seen) == 2:
                    break  # the listener "crashes" after handling two events
    with _connect(server, user) as gw:
        resumed = FileCheckpointer(path)
        assert (resumed.block_number, resumed.transaction_id) == (3, "t2")
        stream = gw.get_network("ch").chaincode_events("registry", checkpoint=resumed)
        with stream:
            for event in stream:
                seen.append(event.transaction_id)
                resumed.checkpoint_chaincode_event(event)
                if len(seen) == 4:
                    break
    assert seen == ["t1", "t2", "t3", "t4"]  # nothing missed, nothing doubled
