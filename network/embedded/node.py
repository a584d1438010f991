"""Peers of the embedded engine: identity, joined channels (one ledger each), chaincode streams.

A `PeerNode` is what one Fabric peer process would be; the server runs every peer of the
topology in one process, each with its own port, TLS certificate and signing identity.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fabric_protos.common import common_pb2

from .chaincode_handler import HandlerError
from .chaincode_support import ChaincodeSupport
from .channelconfig import ChannelConfig
from .endorser import Endorser, TransientStore
from .ledger import PeerLedger
from .msp import Identity, SigningIdentity
from .policies import evaluate_signature_policy
from .tls import ServerTLS
from .validator import ChaincodeDefinition

log = logging.getLogger(__name__)


class HeightWatcher:
    """Wakes coroutines waiting for a ledger to reach a height (commit listeners run in-loop)."""

    def __init__(self, height: Callable[[], int]) -> None:
        self._height = height
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_above(self, height: int, timeout: float | None = None) -> bool:
        """Wait until the height exceeds `height`; False on timeout."""
        while self._height() <= height:
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return self._height() > height
        return True


class PeerChannel:
    """One channel as one peer sees it."""

    def __init__(self, peer: PeerNode, ledger: PeerLedger, chaincodes: list[str]) -> None:
        self.peer = peer
        self.ledger = ledger
        self.channel_id = ledger.channel_id
        self.chaincodes = chaincodes
        self.watcher = HeightWatcher(lambda: self.ledger.height)
        ledger.add_listener(lambda _block, _codes: self.watcher.notify())

    @property
    def config(self) -> ChannelConfig:
        return self.ledger.channel_config

    def definition(self, name: str) -> ChaincodeDefinition | None:
        return self.ledger.chaincode_definition(name)

    def all_definitions(self) -> list[ChaincodeDefinition]:
        return [d for n in self.chaincodes if (d := self.definition(n)) is not None]

    def collection_guard(self, creator: Identity) -> Callable[[str, str, bool], None]:
        """Fabric's member_only_read / member_only_write checks for the tx creator."""

        def guard(ns: str, coll: str, write: bool) -> None:
            d = self.definition(ns)
            static = d.collection(coll) if d is not None else None
            if static is None:
                raise HandlerError(f"collection {self.channel_id}/{ns}/{coll} could not be found")
            restricted = static.member_only_write if write else static.member_only_read
            if restricted and not evaluate_signature_policy(
                static.member_orgs_policy.signature_policy, [creator]
            ):
                access = "write" if write else "read"
                raise HandlerError(
                    f"tx creator does not have {access} access permission on privatedata in "
                    f"chaincodeName:{ns} collectionName: {coll}"
                )

        return guard

    def commit(self, block: common_pb2.Block) -> list[int]:
        private: dict[str, Any] = {}
        store = self.peer.transient_store
        for raw in block.data.data:
            txid = _txid_of(raw)
            if txid:
                pvt = store.get(txid)
                if pvt is not None:
                    private[txid] = pvt
        return self.ledger.commit(block, private or None)


def _txid_of(env_bytes: bytes) -> str:
    try:
        env = common_pb2.Envelope.FromString(env_bytes)
        payload = common_pb2.Payload.FromString(env.payload)
        return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)
    except Exception:
        return ""


@dataclass
class PeerNode:
    """One peer: host name, MSP, address, signer, TLS, channels and chaincode streams."""

    name: str
    msp_id: str
    org: str
    address: str
    signer: SigningIdentity
    tls: ServerTLS
    chaincode_support: ChaincodeSupport
    transient_store: TransientStore
    channels: dict[str, PeerChannel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.endorser = Endorser(self)

    def join(self, ledger: PeerLedger, chaincodes: list[str]) -> PeerChannel:
        ch = PeerChannel(self, ledger, chaincodes)
        self.channels[ledger.channel_id] = ch
        return ch

    def close(self) -> None:
        for ch in self.channels.values():
            ch.ledger.close()
