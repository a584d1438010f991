"""`connect` and the sync `Gateway`: the async core run on a private event loop thread.

    with connect(endpoint, identity, signer, tls_root_certificates=ca_pem) as gw:
        contract = gw.get_network("bsp1-channel").get_contract("registry")
        contract.submit_transaction("RegisterPod", pod_json)

Only the gateway owns resources (the gRPC channel and its loop thread); networks, contracts and
proposals are cheap handles. Close it, or use it as a context manager.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from gateway import aio
from gateway._loop import LoopThread
from gateway.events import BlockEventKind
from gateway.flow import BlockEventsRequest, ChaincodeEventsRequest, Commit, Proposal, Transaction
from gateway.identity import Identity
from gateway.network import Network
from gateway.options import Timeouts
from gateway.signing import Hash, Signer, sha256

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, loop: LoopThread, inner: aio.Gateway) -> None:
        self._loop = loop
        self._inner = inner
        self._closed = False

    @property
    def identity(self) -> Identity:
        return self._inner.identity

    @property
    def aio(self) -> aio.Gateway:
        """The async gateway underneath (use it only from `self.loop`)."""
        return self._inner

    @property
    def loop(self) -> LoopThread:
        return self._loop

    def sign_message(self, message: bytes) -> bytes:
        return self._inner.sign_message(message)

    def get_network(self, channel: str) -> Network:
        return Network(self._loop, self._inner.get_network(channel))

    def new_proposal(self, data: bytes, signature: bytes | None = None) -> Proposal:
        return Proposal(self._loop, self._inner.new_proposal(data, signature))

    def new_signed_proposal(self, data: bytes, signature: bytes) -> Proposal:
        return self.new_proposal(data, signature)

    def new_transaction(self, data: bytes, signature: bytes | None = None) -> Transaction:
        return Transaction(self._loop, self._inner.new_transaction(data, signature))

    def new_signed_transaction(self, data: bytes, signature: bytes) -> Transaction:
        return self.new_transaction(data, signature)

    def new_commit(self, data: bytes, signature: bytes | None = None) -> Commit:
        return Commit(self._loop, self._inner.new_commit(data, signature))

    def new_signed_commit(self, data: bytes, signature: bytes) -> Commit:
        return self.new_commit(data, signature)

    def new_chaincode_events_request(
        self, data: bytes, signature: bytes | None = None
    ) -> ChaincodeEventsRequest:
        return ChaincodeEventsRequest(
            self._loop, self._inner.new_chaincode_events_request(data, signature)
        )

    def new_signed_chaincode_events_request(
        self, data: bytes, signature: bytes
    ) -> ChaincodeEventsRequest:
        return self.new_chaincode_events_request(data, signature)

    def new_block_events_request(
        self,
        data: bytes,
        signature: bytes | None = None,
        kind: BlockEventKind = BlockEventKind.FULL,
    ) -> BlockEventsRequest:
        return BlockEventsRequest(
            self._loop, self._inner.new_block_events_request(data, signature, kind)
        )

    def new_signed_block_events_request(
        self, data: bytes, signature: bytes, kind: BlockEventKind = BlockEventKind.FULL
    ) -> BlockEventsRequest:
        return self.new_block_events_request(data, signature, kind)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.run(self._inner.close())
        finally:
            self._loop.stop()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    endpoint: str,
    identity: Identity,
    signer: Signer | None = None,
    *,
    tls_root_certificates: bytes | str | Path | None = None,
    hostname_override: str | None = None,
    client_certificate: bytes | str | Path | None = None,
    client_key: bytes | str | Path | None = None,
    insecure: bool = False,
    hash: Hash = sha256,
    timeouts: Timeouts | None = None,
) -> Gateway:
    """Connect to a Fabric gateway peer (see `gateway.aio.connect` for the arguments)."""
    loop = LoopThread()

    async def _open() -> aio.Gateway:
        return aio.connect(
            endpoint,
            identity,
            signer,
            tls_root_certificates=tls_root_certificates,
            hostname_override=hostname_override,
            client_certificate=client_certificate,
            client_key=client_key,
            insecure=insecure,
            hash=hash,
            timeouts=timeouts,
        )

    try:
        inner = loop.run(_open())
    except BaseException:
        loop.stop()
        raise
    log.debug("connected to gateway %s as %s", endpoint, identity.msp_id)
    return Gateway(loop, inner)
