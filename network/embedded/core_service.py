"""The core's side of the links with the peer processes (`messages.py` names the messages).

The core is the process that orders and commits: the orderer and every peer's ledger. Each
peer process connects once it has started, says which peer it is (HELLO) and, once the core is
ready, learns the heights of its peer's channels; from then on it submits envelopes and
private writes here and is told of every block any peer commits. A peer process that dies
leaves only its link behind; one that (re)starts says HELLO again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2

from . import ipc, messages
from .ipc import Link, LinkError
from .ledger import Committed

if TYPE_CHECKING:
    from .node import PeerNode
    from .orderer_service import Orderer

log = logging.getLogger(__name__)


class CoreService:
    def __init__(self, peers: list[PeerNode], orderer: Orderer, run_dir: Path) -> None:
        self.peers = {p.name: p for p in peers}
        self.orderer = orderer
        self.path = ipc.socket_path(run_dir, messages.CORE_SOCKET)
        self.ready = asyncio.Event()
        self._links: dict[str, Link] = {}  # peer name -> its process's link
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channel_peers: dict[str, int] = {}
        for p in peers:
            for ch in p.channels:
                self._channel_peers[ch] = self._channel_peers.get(ch, 0) + 1
        # (channel, block) -> the peers that committed it so far, until all have
        self._blocks: dict[tuple[str, int], dict[str, Committed]] = {}

    async def start(self) -> None:
        """Listen, and follow every peer's commits (they are told to the peer processes)."""
        self._loop = asyncio.get_running_loop()
        for peer in self.peers.values():
            for ch in peer.channels.values():
                ch.ledger.add_listener(self._listener(peer.name, ch.channel_id))
        self._server = await ipc.serve(self.path, self._on_frame, self._on_lost)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            ipc.unlink(self.path)
        for link in list(self._links.values()):
            link.close()
        for task in list(self._tasks):
            task.cancel()

    # --- commits, from the peers' commit threads ---------------------------------------------

    def _listener(self, peer: str, channel: str) -> Callable[[Committed], None]:
        def committed(c: Committed) -> None:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(self._tell, peer, channel, c)
            except RuntimeError:  # the loop closed meanwhile (shutdown)
                pass

        return committed

    def _tell(self, peer: str, channel: str, c: Committed) -> None:
        """Once every peer of the channel committed block `c.number`, tell each peer process
        of its own peer's commit (and the others that it happened): a client told that its
        transaction committed and endorsing next on another peer reads what it wrote, as on
        the single process the peers share their commits in."""
        waiting = self._blocks.setdefault((channel, c.number), {})
        waiting[peer] = c
        if len(waiting) < self._channel_peers[channel]:
            return
        del self._blocks[(channel, c.number)]
        for who, done in waiting.items():
            self._send(who, channel, done)

    def _send(self, peer: str, channel: str, c: Committed) -> None:
        full: bytes | None = None
        short: bytes | None = None
        for name, link in list(self._links.items()):
            try:
                if name == peer:
                    full = full or messages.committed(peer, channel, c)
                    link.send(messages.COMMITTED, full)
                else:
                    short = short or messages.committed_elsewhere(peer, channel, c.number)
                    link.send(messages.COMMITTED_ELSEWHERE, short)
            except LinkError:
                self._links.pop(name, None)

    # --- requests from the peer processes ----------------------------------------------------

    def _on_frame(self, link: Link, kind: int, ident: int, payload: bytes) -> None:
        if kind == messages.ORDER:
            self._order(link, payload)
        elif kind == messages.SUBMIT:
            self._spawn(self._submit(link, ident, payload))
        elif kind == messages.PRIVATE:
            self._private(link, payload)
        elif kind == messages.HELLO:
            self._spawn(self._hello(link, ident, payload.decode(errors="replace")))
        else:
            log.warning("link %s: unknown message kind %d; closing it", link.name or "?", kind)
            link.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hello(self, link: Link, ident: int, name: str) -> None:
        peer = self.peers.get(name)
        if peer is None:
            log.warning("a process said it is peer %r, which this engine does not run", name)
            link.close()
            return
        await self.ready.wait()
        link.name = name
        old = self._links.get(name)
        if old is not None and old is not link:
            old.close()  # a restarted peer process replaces the link of the one that died
        # Heights and registration in the same turn of the loop: every commit after these
        # heights is told on this link, and one told twice is ignored by the peer process.
        heights = {ch.channel_id: ch.height for ch in peer.channels.values()}
        self._links[name] = link
        link.reply(ident, messages.hello_reply(heights))
        log.info("peer process of %s connected (heights %s)", name, heights)

    async def _submit(self, link: Link, ident: int, env_bytes: bytes) -> None:
        try:
            status, info = await self.orderer.broadcast(env_bytes)
        except Exception as exc:  # noqa: BLE001 - the orderer must answer every envelope
            log.exception("orderer failed on a submitted envelope")
            status, info = common_pb2.INTERNAL_SERVER_ERROR, str(exc)
        link.reply(ident, messages.submit_reply(status, info))

    def _order(self, link: Link, payload: bytes) -> None:
        try:
            channel, creator, signature, size, env_bytes = messages.read_order(payload)
        except LinkError as exc:
            log.warning("link %s: unreadable envelope to order: %s", link.name or "?", exc)
            return
        chain = self.orderer.chains.get(channel)
        if chain is None:
            log.warning("link %s: envelope for channel %s, which is not here", link.name, channel)
            return
        try:
            # the peer process verified this signature for the orderer's Writers check: the
            # validation of its block finds it verified, as within one process
            identity = chain.config.msp_manager.deserialize_identity(creator)
            identity.mark_verified(common_pb2.Envelope.FromString(env_bytes).payload, signature)
        except Exception as exc:  # noqa: BLE001 - the validation then verifies it itself
            log.debug("could not record a verified signature: %s", exc)
        chain.enqueue(env_bytes, size)

    def _private(self, link: Link, payload: bytes) -> None:
        try:
            channel, txid, raw = messages.read_private(payload)
            pvt = rwset_pb2.TxPvtReadWriteSet.FromString(raw)
        except Exception as exc:  # noqa: BLE001 - a bad notice is dropped, the link stays
            log.warning("link %s: unreadable private writes: %s", link.name or "?", exc)
            return
        # every peer process shares the core's transient store (the peers commit here)
        store = next(iter(self.peers.values())).transient_store
        store.put(txid, pvt, channel)

    def _on_lost(self, link: Link) -> None:
        if link.name and self._links.get(link.name) is link:
            del self._links[link.name]
            log.info("peer process of %s disconnected", link.name)


__all__ = ["CoreService"]
