"""The shim's protocol handler driven by a scripted peer: no network, real messages."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fabric_protos.peer import chaincode_shim_pb2 as shim

from chaincode.runtime import (
    ChaincodeError,
    ChaincodeHandler,
    Context,
    Contract,
    ContractRouter,
    ProtocolError,
    transaction,
)
from chaincode.runtime import messages as m
from chaincode.runtime.testing import FakePeer


class Counter(Contract):
    name = "counter"

    @transaction()
    def Increment(self, ctx: Context, key: str) -> int:
        current = int(ctx.stub.get_state(key) or b"0")
        ctx.stub.put_state(key, str(current + 1).encode())
        ctx.stub.set_event("Incremented", key.encode())
        return current + 1

    @transaction()
    def Boom(self, ctx: Context) -> None:
        raise RuntimeError("the flux capacitor broke")

    @transaction()
    def Refuse(self, ctx: Context, why: str) -> None:
        raise ChaincodeError(why)

    @transaction()
    def PutMany(self, ctx: Context, count: int) -> None:
        ctx.stub.start_write_batch()
        for i in range(count):
            ctx.stub.put_state(f"k{i:03d}", b"v")


def router() -> ContractRouter:
    return ContractRouter([Counter])


def reply(request: m.ChaincodeMessage, payload: bytes = b"", kind: int = m.RESPONSE):
    return m.ChaincodeMessage(
        type=kind, payload=payload, txid=request.txid, channel_id=request.channel_id
    )


def test_chaincode_handler_registers_with_package_id_then_becomes_ready() -> None:
    peer = FakePeer(router(), chaincode_id="counter:abc123")
    peer.handler.start()
    register = peer.receive()
    assert register.type == m.REGISTER
    assert m.ChaincodeID.FromString(register.payload).name == "counter:abc123"
    assert peer.handler.state == "created"
    peer.handler.handle(m.ChaincodeMessage(type=m.REGISTERED))
    assert peer.handler.state == "established"
    params = m.PeerParams(use_write_batch=True, max_size_write_batch=1000)
    peer.handler.handle(m.ChaincodeMessage(type=m.READY, payload=m.encode_peer_params(params)))
    assert peer.handler.state == "ready"
    assert peer.handler.peer_params.use_write_batch
    assert peer.handler.peer_params.max_size_write_batch == 1000
    peer.close()


def test_chaincode_handler_reads_the_embedded_peers_ready_as_fabric_31_defaults() -> None:
    # the seam: what network.embedded sends in READY turns both batching features on here
    from network.embedded.chaincode_handler import READY_PAYLOAD

    assert m.decode_peer_params(READY_PAYLOAD) == m.PeerParams(
        use_write_batch=True,
        max_size_write_batch=1000,
        use_get_multiple_keys=True,
        max_size_get_multiple_keys=1000,
    )


def test_chaincode_handler_transaction_gets_state_puts_state_and_completes_with_event() -> None:
    with FakePeer(router()) as peer:
        tx = peer.transaction_message("Increment", "apples", txid="tx-1")
        peer.handler.handle(tx)

        get = peer.receive()
        assert (get.type, get.txid, get.channel_id) == (m.GET_STATE, "tx-1", "ch1")
        assert shim.GetState.FromString(get.payload).key == "apples"
        peer.handler.handle(reply(get, b"41"))

        put = peer.receive()
        assert put.type == m.PUT_STATE
        written = shim.PutState.FromString(put.payload)
        assert (written.key, written.value, written.collection) == ("apples", b"42", "")
        peer.handler.handle(reply(put))

        done = peer.receive()
        assert done.type == m.COMPLETED
        assert (done.txid, done.channel_id) == ("tx-1", "ch1")
        response = m.Response.FromString(done.payload)
        assert (response.status, response.payload) == (200, b"42")
        assert done.chaincode_event.event_name == "Incremented"
        assert done.chaincode_event.payload == b"apples"
        assert peer.handler.in_flight() == 0


def test_chaincode_handler_routes_interleaved_transactions_by_txid() -> None:
    with FakePeer(router()) as peer:
        peer.handler.handle(peer.transaction_message("Increment", "a", txid="tx-a"))
        peer.handler.handle(peer.transaction_message("Increment", "b", txid="tx-b"))
        first, second = peer.receive(), peer.receive()
        gets = {first.txid: first, second.txid: second}
        assert set(gets) == {"tx-a", "tx-b"}
        assert all(g.type == m.GET_STATE for g in gets.values())
        assert peer.handler.in_flight() == 2

        # answer b before a, with values that tell them apart
        peer.handler.handle(reply(gets["tx-b"], b"100"))
        put_b = peer.receive()
        assert (put_b.txid, shim.PutState.FromString(put_b.payload).value) == ("tx-b", b"101")
        peer.handler.handle(reply(gets["tx-a"], b"1"))
        put_a = peer.receive()
        assert (put_a.txid, shim.PutState.FromString(put_a.payload).value) == ("tx-a", b"2")

        peer.handler.handle(reply(put_a))
        peer.handler.handle(reply(put_b))
        results = {}
        for _ in range(2):
            done = peer.receive()
            assert done.type == m.COMPLETED
            results[done.txid] = m.Response.FromString(done.payload).payload
        assert results == {"tx-a": b"2", "tx-b": b"101"}


def test_chaincode_handler_contract_exception_completes_at_once_with_status_500() -> None:
    with FakePeer(router()) as peer:
        started = time.monotonic()
        outcome = peer.invoke("Boom")
        assert time.monotonic() - started < 1.0
        assert outcome.completed
        assert outcome.status == 500
        assert outcome.error == "the flux capacitor broke"
        refused = peer.invoke("counter:Refuse", "not today")
        assert (refused.status, refused.error) == (500, "not today")


def test_chaincode_handler_peer_error_reply_fails_the_transaction() -> None:
    with FakePeer(router()) as peer:
        peer.handler.handle(peer.transaction_message("Increment", "k", txid="tx-e"))
        get = peer.receive()
        peer.handler.handle(reply(get, b"collection not readable", kind=m.ERROR))
        done = peer.receive()
        response = m.Response.FromString(done.payload)
        assert (done.type, response.status) == (m.COMPLETED, 500)
        assert response.message == "collection not readable"


def test_chaincode_handler_unparseable_input_answers_error_message() -> None:
    with FakePeer(router()) as peer:
        bad = m.ChaincodeMessage(
            type=m.TRANSACTION, payload=b"\xff\xff\xff", txid="tx-bad", channel_id="ch1"
        )
        peer.handler.handle(bad)
        done = peer.receive()
        assert (done.type, done.txid) == (m.ERROR, "tx-bad")
        assert done.payload


def test_chaincode_handler_echoes_keepalive() -> None:
    with FakePeer(router()) as peer:
        peer.handler.handle(m.ChaincodeMessage(type=m.KEEPALIVE))
        assert peer.receive().type == m.KEEPALIVE


def test_chaincode_handler_refuses_transaction_before_ready() -> None:
    peer = FakePeer(router())
    peer.handler.start()
    peer.receive()
    with pytest.raises(ProtocolError, match="TRANSACTION"):
        peer.handler.handle(peer.transaction_message("Increment", "k"))
    error = peer.receive()
    assert error.type == m.ERROR
    assert b"state created" in error.payload
    peer.close()


def test_chaincode_handler_duplicate_txid_is_refused_without_disturbing_the_first() -> None:
    with FakePeer(router()) as peer:
        peer.handler.handle(peer.transaction_message("Increment", "k", txid="dup"))
        get = peer.receive()
        peer.handler.handle(peer.transaction_message("Increment", "k", txid="dup"))
        refused = peer.receive()
        assert (refused.type, refused.txid) == (m.ERROR, "dup")
        assert b"already running" in refused.payload
        peer.handler.handle(reply(get, b"5"))
        assert peer.receive().type == m.PUT_STATE


def test_chaincode_handler_stream_close_releases_waiting_transaction() -> None:
    peer = FakePeer(router())
    peer.connect()
    peer.handler.handle(peer.transaction_message("Increment", "k", txid="tx-w"))
    assert peer.receive().type == m.GET_STATE
    peer.handler.close()
    peer.executor.shutdown(wait=True)  # returns only if the worker was released
    assert peer.handler.in_flight() == 0


def test_chaincode_handler_write_batch_sends_one_message_when_peer_accepts_batches() -> None:
    params = m.PeerParams(use_write_batch=True, max_size_write_batch=100)
    with FakePeer(router(), params=params) as peer:
        outcome = peer.invoke("PutMany", "250")
        assert outcome.status == 200
        kinds = [r.type for r in outcome.requests]
        assert kinds == [m.WRITE_BATCH_STATE] * 3  # 250 writes in batches of 100
        assert len(peer.state) == 250


def test_chaincode_handler_without_batch_support_sends_each_write() -> None:
    with FakePeer(router()) as peer:
        outcome = peer.invoke("PutMany", "3")
        assert [r.type for r in outcome.requests] == [m.PUT_STATE] * 3


def test_chaincode_handler_runs_transactions_concurrently_on_bounded_pool() -> None:
    gate = threading.Barrier(3, timeout=5)

    class Waiter(Contract):
        @transaction()
        def Wait(self, ctx: Context) -> str:
            gate.wait()
            return "passed"

    sent: list[m.ChaincodeMessage] = []
    lock = threading.Lock()

    def send(msg: m.ChaincodeMessage) -> None:
        with lock:
            sent.append(msg)

    with ThreadPoolExecutor(max_workers=3) as pool:
        handler = ChaincodeHandler(ContractRouter([Waiter]), "w:1", send, pool)
        handler.start()
        handler.handle(m.ChaincodeMessage(type=m.REGISTERED))
        handler.handle(m.ChaincodeMessage(type=m.READY))
        helper = FakePeer(ContractRouter([Waiter]))
        for i in range(3):
            handler.handle(helper.transaction_message("Wait", txid=f"t{i}"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(sent) < 4:
            time.sleep(0.01)
        helper.close()
    completed = [s for s in sent if s.type == m.COMPLETED]
    assert len(completed) == 3  # all three met at the barrier: they ran at once
    assert {m.Response.FromString(c.payload).payload for c in completed} == {b"passed"}
