"""One transaction's conversation with the peer: the stub sends a request on it and waits for
the RESPONSE or ERROR the handler routes back by (channel id, tx id)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from . import messages as m
from .errors import PeerError

__all__ = ["TxChannel"]


class TxChannel:
    """One transaction's conversation with the peer: send a request, wait for its reply."""

    __slots__ = ("_lock", "_replies", "_send", "_timeout", "channel_id", "params", "txid")

    def __init__(
        self,
        channel_id: str,
        txid: str,
        send: Callable[[m.ChaincodeMessage], None],
        params: m.PeerParams,
        timeout: float,
    ) -> None:
        self.channel_id = channel_id
        self.txid = txid
        self.params = params
        self._send = send
        self._timeout = timeout
        self._replies: queue.SimpleQueue[m.ChaincodeMessage] = queue.SimpleQueue()
        # the peer serves one request per transaction at a time; contract code using threads
        # must not interleave two requests of the same transaction
        self._lock = threading.Lock()

    def deliver(self, reply: m.ChaincodeMessage) -> None:
        self._replies.put(reply)

    def call(self, msg_type: int, payload: bytes) -> bytes:
        """Send one request; return the RESPONSE payload or raise PeerError on ERROR."""
        request = m.ChaincodeMessage(
            type=msg_type, payload=payload, txid=self.txid, channel_id=self.channel_id
        )
        with self._lock:
            self._send(request)
            try:
                reply = self._replies.get(timeout=self._timeout)
            except queue.Empty:
                raise PeerError(
                    f"no reply from the peer to {m.message_type_name(msg_type)} "
                    f"within {self._timeout:g}s (tx {self.txid[:8]})"
                ) from None
        if reply.type == m.RESPONSE:
            return reply.payload
        if reply.type == m.ERROR:
            raise PeerError(reply.payload.decode("utf-8", errors="replace"))
        raise PeerError(
            f"peer answered {m.message_type_name(msg_type)} with "
            f"{m.message_type_name(reply.type)}; expected RESPONSE or ERROR"
        )
