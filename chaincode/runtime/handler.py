"""The shim side of one peer stream: handshake, transactions, and routing of the peer's replies.

Sans-I/O: the transport feeds every received message to ``ChaincodeHandler.handle`` (which never
blocks) and gives the handler a thread-safe ``send``. Transactions run on a bounded executor;
each transaction talks to the peer through its own ``TxChannel``, one request at a time, and
the peer's RESPONSE/ERROR is routed back to it by (channel id, tx id), as Fabric's shims do.

States (Fabric's names)::

    created --REGISTERED--> established --READY--> ready
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Protocol

from . import messages as m
from .errors import ProtocolError
from .stub import ChaincodeStub
from .txchannel import TxChannel

__all__ = ["Chaincode", "ChaincodeHandler"]

logger = logging.getLogger(__name__)

DEFAULT_REPLY_TIMEOUT = 300.0  # seconds a transaction waits for the peer before giving up

_CLOSED = m.ChaincodeMessage(type=m.ERROR, payload=b"stream to the peer closed")


class Chaincode(Protocol):
    """What the handler runs: Fabric's Init/Invoke, returning a peer.Response."""

    def init(self, stub: ChaincodeStub) -> m.Response: ...

    def invoke(self, stub: ChaincodeStub) -> m.Response: ...


class ChaincodeHandler:
    """Runs the chaincode protocol on one stream. ``send`` must be thread-safe."""

    CREATED = "created"
    ESTABLISHED = "established"
    READY = "ready"

    def __init__(
        self,
        chaincode: Chaincode,
        chaincode_id: str,
        send: Callable[[m.ChaincodeMessage], None],
        executor: Executor,
        *,
        reply_timeout: float = DEFAULT_REPLY_TIMEOUT,
    ) -> None:
        if not chaincode_id:
            raise ValueError("chaincode id (CORE_CHAINCODE_ID_NAME) must not be empty")
        self._chaincode = chaincode
        self._chaincode_id = chaincode_id
        self._send = send
        self._executor = executor
        self._reply_timeout = reply_timeout
        self._state = self.CREATED
        self._params = m.PeerParams()
        self._txs: dict[tuple[str, str], TxChannel] = {}
        self._closed = False

    @property
    def state(self) -> str:
        return self._state

    @property
    def peer_params(self) -> m.PeerParams:
        return self._params

    def in_flight(self) -> int:
        return len(self._txs)

    def start(self) -> None:
        """Send REGISTER: in chaincode-as-a-service the chaincode speaks first."""
        payload = m.ChaincodeID(name=self._chaincode_id).SerializeToString()
        self._send(m.ChaincodeMessage(type=m.REGISTER, payload=payload))

    def handle(self, msg: m.ChaincodeMessage) -> None:
        """Take one message from the peer; raise ProtocolError when the stream must end."""
        msg_type = msg.type
        if msg_type == m.KEEPALIVE:
            self._send(msg)
            return
        if self._state is self.READY:
            if msg_type == m.RESPONSE or msg_type == m.ERROR:
                self._route_reply(msg)
            elif msg_type == m.TRANSACTION or msg_type == m.INIT:
                self._begin_transaction(msg)
            else:
                self._refuse(msg)
        elif self._state is self.ESTABLISHED:
            if msg_type != m.READY:
                self._refuse(msg)
            try:
                self._params = m.decode_peer_params(msg.payload)
            except ValueError:
                # an unreadable READY payload only costs the optional batching features
                logger.warning("READY payload from the peer is not ChaincodeAdditionalParams")
            self._state = self.READY
            logger.info("chaincode %s ready on stream", self._chaincode_id)
        else:
            if msg_type != m.REGISTERED:
                self._refuse(msg)
            self._state = self.ESTABLISHED

    def close(self) -> None:
        """The stream ended: release every transaction still waiting for the peer."""
        self._closed = True
        for tx in list(self._txs.values()):
            tx.deliver(_CLOSED)

    def _refuse(self, msg: m.ChaincodeMessage) -> None:
        text = (
            f"chaincode handler cannot handle {m.message_type_name(msg.type)} "
            f"(tx {msg.txid[:8]}) in state {self._state}"
        )
        self._send(
            m.ChaincodeMessage(
                type=m.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id
            )
        )
        raise ProtocolError(text)

    def _route_reply(self, msg: m.ChaincodeMessage) -> None:
        tx = self._txs.get((msg.channel_id, msg.txid))
        if tx is None:
            # a reply for a transaction that already ended (timed out, failed): nothing waits
            logger.warning(
                "dropping %s for unknown transaction %s on channel %s",
                m.message_type_name(msg.type),
                msg.txid[:8],
                msg.channel_id,
            )
            return
        tx.deliver(msg)

    def _begin_transaction(self, msg: m.ChaincodeMessage) -> None:
        key = (msg.channel_id, msg.txid)
        if key in self._txs:
            text = f"transaction {msg.txid} on channel {msg.channel_id} is already running"
            self._send(
                m.ChaincodeMessage(
                    type=m.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id
                )
            )
            return
        tx = TxChannel(msg.channel_id, msg.txid, self._send, self._params, self._reply_timeout)
        self._txs[key] = tx
        try:
            self._executor.submit(self._run_transaction, msg, tx)
        except RuntimeError:
            # executor shut down: we are stopping
            del self._txs[key]
            self._send(
                m.ChaincodeMessage(
                    type=m.ERROR,
                    payload=b"chaincode server is shutting down",
                    txid=msg.txid,
                    channel_id=msg.channel_id,
                )
            )

    def _run_transaction(self, msg: m.ChaincodeMessage, tx: TxChannel) -> None:
        is_init = msg.type == m.INIT
        reply: m.ChaincodeMessage
        try:
            chaincode_input = m.ChaincodeInput.FromString(msg.payload)
            proposal = msg.proposal if msg.HasField("proposal") else None
            stub = ChaincodeStub(tx, chaincode_input, proposal)
            if is_init:
                response = self._chaincode.init(stub)
            else:
                response = self._chaincode.invoke(stub)
            failed = response.status >= m.ERROR_THRESHOLD
            if not failed:
                # a failed proposal's writes are discarded by the peer: do not ship them
                stub.finish_write_batch()
            if is_init and failed:
                reply = m.ChaincodeMessage(
                    type=m.ERROR,
                    payload=response.message.encode(),
                    txid=msg.txid,
                    channel_id=msg.channel_id,
                )
            else:
                reply = m.ChaincodeMessage(
                    type=m.COMPLETED,
                    payload=response.SerializeToString(),
                    txid=msg.txid,
                    channel_id=msg.channel_id,
                )
                event = stub.chaincode_event
                if event is not None:
                    reply.chaincode_event.CopyFrom(event)
        except Exception as exc:  # noqa: BLE001 - every failure must answer the peer
            text = str(exc) or type(exc).__name__
            if not self._closed:
                logger.warning("transaction %s failed outside the contract: %s", msg.txid[:8], text)
            reply = m.ChaincodeMessage(
                type=m.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id
            )
        finally:
            self._txs.pop((msg.channel_id, msg.txid), None)
        if not self._closed:
            self._send(reply)
