"""Peers of the embedded engine: identity, joined channels (one ledger each), chaincode streams.

A `PeerNode` is what one Fabric peer process would be; the server runs every peer of the
topology in one process, each with its own port, TLS certificate and signing identity.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fabric_protos.common import common_pb2

from .chaincode_handler import HandlerError
from .chaincode_support import ChaincodeSupport
from .channelconfig import ChannelConfig
from .endorser import Endorser, TransientStore
from .ledger import Committed, LedgerReader, PeerLedger
from .lifecycle import ChaincodeDefinition, PackageStore, implicit_msp
from .msp import Identity, MSPManager, SigningIdentity
from .policies import evaluate_signature_policy
from .protoutil import txid_of
from .tls import ServerTLS

log = logging.getLogger(__name__)

W = TypeVar("W")


class HeightWatcher:
    """Wakes coroutines waiting for a height; `notify` may be called from any thread.

    Blocks are committed on worker threads (see `SerialWorker`) while waiters live on the
    event loop, so a notification from another thread is handed to the loop thread-safely.
    """

    def __init__(self, height: Callable[[], int]) -> None:
        self._height = height
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody waits yet; a later waiter reads the height first
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake()
        else:
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop closed meanwhile (shutdown)
                pass

    def _wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_above(self, height: int, timeout: float | None = None) -> bool:
        """Wait until the height exceeds `height`; False on timeout."""
        self._loop = asyncio.get_running_loop()
        deadline = None if timeout is None else self._loop.time() + timeout
        while self._height() <= height:
            event = self._event
            left = None if deadline is None else deadline - self._loop.time()
            if left is not None and left <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                return self._height() > height
        return True


class SerialWorker(Generic[W]):
    """One thread doing `work(item)` for each submitted item, in submission order.

    The orderer writes blocks and each peer commits each channel's blocks on such a thread, as
    separate Fabric processes would: fsync, SQLite and validation stay off the event loop, and
    the peers of a channel commit side by side.
    """

    def __init__(self, name: str, work: Callable[[W], object]) -> None:
        self.name = name
        self._work = work
        self._queue: queue.SimpleQueue[tuple[W] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: W) -> None:
        self._queue.put((item,))

    def _run(self) -> None:
        while (entry := self._queue.get()) is not None:
            try:
                self._work(entry[0])
            except Exception:
                log.exception("%s failed", self.name)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what was submitted, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)


class PeerChannel:
    """One channel as one peer sees it."""

    def __init__(self, peer: PeerNode, ledger: LedgerReader, chaincodes: list[str]) -> None:
        self.peer = peer
        self.ledger = ledger
        self.channel_id = ledger.channel_id
        self.chaincodes = chaincodes
        # The height of blocks whose state, history and index are written: a txid below it is
        # found by get_tx_by_id (the block store's own height moves before the state does).
        self.height = ledger.height
        self.watcher = HeightWatcher(lambda: self.height)
        ledger.add_listener(self._committed)
        self._committer: SerialWorker[common_pb2.Block] | None = None
        # CommitStatus waiters by txid; touched on the event loop only.
        self._tx_waiters: dict[str, list[asyncio.Future[tuple[int, int]]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def _committed(self, committed: Committed) -> None:
        self.height = committed.number + 1
        self.watcher.notify()
        loop = self._loop
        if self._tx_waiters and loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:  # a follower told on the loop of its ledger process's commit
                self._resolve(committed)
                return
            try:
                loop.call_soon_threadsafe(self._resolve, committed)
            except RuntimeError:  # the loop closed meanwhile (shutdown)
                pass

    def _resolve(self, committed: Committed) -> None:
        waiters = self._tx_waiters
        n = committed.number
        for txid, code in zip(committed.txids, committed.codes, strict=True):
            futs = waiters.pop(txid, None)
            if futs:
                for fut in futs:
                    if not fut.done():
                        fut.set_result((code, n))

    async def tx_status(self, txid: str) -> tuple[int, int]:
        """(validation code, block number) of `txid`, waiting for its block if need be.

        Each waiter is woken by the block holding its txid, not by every block.
        """
        status = self.ledger.get_tx_status(txid)
        if status is not None:
            return status
        self._loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[int, int]] = self._loop.create_future()
        self._tx_waiters.setdefault(txid, []).append(fut)
        try:
            # Registered first, then looked up again: a commit between the two is not missed.
            status = self.ledger.get_tx_status(txid)
            return status if status is not None else await fut
        finally:
            waiters = self._tx_waiters.get(txid)
            if waiters is not None and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._tx_waiters[txid]

    def deliver(self, block: common_pb2.Block) -> None:
        """Queue a block from the orderer; this peer commits it on its own thread, in order."""
        if self._committer is None:
            self._committer = SerialWorker(
                f"commit-{self.peer.name}-{self.channel_id}", self.commit
            )
        self._committer.submit(block)

    def stop(self) -> None:
        if self._committer is not None:
            self._committer.stop()
            self._committer = None

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
            if static is None and d is not None and implicit_msp(coll) in self.config.orgs:
                return  # an org's implicit collection: neither member-only read nor write
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
        if len(store):  # most blocks carry no private data: skip parsing their txids
            for raw in block.data.data:
                txid = txid_of(raw)
                if txid:
                    pvt = store.get(txid)
                    if pvt is not None:
                        private[txid] = pvt
        ledger = self.ledger
        if not isinstance(ledger, PeerLedger):
            raise RuntimeError(
                f"{self.peer.name}: {self.channel_id} is committed by another process"
            )
        codes = ledger.commit(block, private or None)
        for txid in private:
            store.taken(txid)
        return codes


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
    # installed chaincode packages; in memory only unless the engine gives the peer a folder
    packages: PackageStore = field(default_factory=lambda: PackageStore(None))

    def __post_init__(self) -> None:
        self.endorser = Endorser(self)
        self._local_msp: MSPManager | None = None

    @property
    def local_msp(self) -> MSPManager:
        """The peer's own org MSP alone (what channelless proposals and org-admin ACLs are
        checked against), as the channels the peer joined define it."""
        if self._local_msp is None:
            for ch in self.channels.values():
                msp = ch.config.msp_manager.msps.get(self.msp_id)
                if msp is not None:
                    self._local_msp = MSPManager(msps={self.msp_id: msp})
                    break
            else:
                raise RuntimeError(f"peer {self.name}: no channel defines its MSP {self.msp_id}")
        return self._local_msp

    def join(self, ledger: LedgerReader, chaincodes: list[str]) -> PeerChannel:
        ch = PeerChannel(self, ledger, chaincodes)
        self.channels[ledger.channel_id] = ch
        return ch

    def close(self) -> None:
        for ch in self.channels.values():
            ch.stop()
            ch.ledger.close()
