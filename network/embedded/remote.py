"""What a peer process holds in place of the parts of the network that run elsewhere.

- `CoreLink`: the link to the core (orderer and ledgers): HELLO, submits, private writes, and
  the commit notices, handed to the peer's followers; it reconnects when the core restarts and
  reads from the block files what was committed meanwhile.
- `RemoteOrderer`: the gateway's Submit goes to the core's orderer over that link.
- `ForwardingTransientStore`: a simulation's private writes go to the core, whose peers commit.
- `RemotePeer` / `RemoteEndorser`: another peer of the topology, running in its own process,
  as the gateway sees it (its MSP, channels and chaincode definitions, and its endorser over a
  link of its own).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2

from . import ipc, messages
from .channelconfig import ChannelConfig
from .endorser import ProposalError, TransientStore, error_response
from .ipc import Link, LinkError
from .ledger import Committed
from .lifecycle import ChaincodeDefinition
from .lifecycle.definition import definitions_from_state
from .orderer_service import broadcast_check, parse_envelope
from .protoutil import ParsedProposal
from .statedb import StateDB

log = logging.getLogger(__name__)

RETRY = 0.05  # seconds between attempts to reach a process that is not listening (yet)


class CoreUnavailable(RuntimeError):
    """The core did not answer a peer process that started; the message says where it looked."""


class CoreLink:
    """A peer process's link to the core."""

    def __init__(
        self,
        path: str,
        peer: str,
        on_committed: Callable[[str, Committed], None],
        on_committed_elsewhere: Callable[[str, str, int], None],
        on_heights: Callable[[dict[str, int]], None],
    ) -> None:
        self.path = path
        self.peer = peer
        self._on_committed = on_committed
        self._on_elsewhere = on_committed_elsewhere
        self._on_heights = on_heights
        self._link: Link | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def connect(self, timeout: float = 60.0) -> dict[str, int]:
        """Connect and say HELLO, waiting for the core to be ready; the heights of the
        peer's channels. Later losses are repaired in the background. CoreUnavailable
        after `timeout` seconds without an answer."""
        try:
            heights = await asyncio.wait_for(self._hello(), timeout)
        except TimeoutError:
            raise CoreUnavailable(
                f"the engine's core did not answer at {self.path!r} within {timeout:.0f} s; "
                "read its log (embedded-engine.log)"
            ) from None
        self._task = asyncio.create_task(self._keep(), name=f"core-link-{self.peer}")
        return heights

    async def _hello(self) -> dict[str, int]:
        while True:
            try:
                link = await ipc.connect(self.path, self._on_frame)
            except OSError:
                await asyncio.sleep(RETRY)
                continue
            link.name = "core"
            try:
                reply = await link.request(messages.HELLO, self.peer.encode())
            except LinkError:
                await asyncio.sleep(RETRY)
                continue
            self._link = link
            return messages.read_hello_reply(reply)

    async def _keep(self) -> None:
        while not self._stopping:
            link = self._link
            if link is not None:
                await link.closed.wait()
            if self._stopping:
                return
            self._link = None
            log.warning("%s: the link to the core closed; reconnecting", self.peer)
            heights = await self._hello()
            log.info("%s: reconnected to the core (heights %s)", self.peer, heights)
            self._on_heights(heights)

    def _on_frame(self, link: Link, kind: int, ident: int, payload: bytes) -> None:
        if kind == messages.COMMITTED:
            peer, channel, c = messages.read_committed(payload)
            if peer == self.peer:
                self._on_committed(channel, c)
        elif kind == messages.COMMITTED_ELSEWHERE:
            self._on_elsewhere(*messages.read_committed_elsewhere(payload))
        else:
            log.warning("%s: unknown message kind %d from the core", self.peer, kind)

    @property
    def up(self) -> bool:
        return self._link is not None and self._link.open

    async def submit(self, env_bytes: bytes) -> tuple[int, str]:
        link = self._link
        if link is None or not link.open:
            return common_pb2.SERVICE_UNAVAILABLE, "the ordering service is not reachable"
        try:
            return messages.read_submit_reply(await link.request(messages.SUBMIT, env_bytes))
        except LinkError as exc:
            return common_pb2.SERVICE_UNAVAILABLE, f"the ordering service went away: {exc}"

    def order(self, channel: str, creator: bytes, signature: bytes, size: int, env: bytes) -> None:
        link = self._link
        if link is None or not link.open:
            raise LinkError("the ordering service is not reachable")
        link.send(messages.ORDER, messages.order(channel, creator, signature, size, env))

    def put_private(self, channel: str, txid: str, pvt: bytes) -> None:
        link = self._link
        if link is None or not link.open:
            raise LinkError("the ledger process is not reachable")
        link.send(messages.PRIVATE, messages.private(channel, txid, pvt))

    async def close(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
        if self._link is not None:
            self._link.close()


class RemoteOrderer:
    """The orderer as a peer process's gateway reaches it: through the core link.

    For a channel whose config this process holds, the envelope is checked here as the orderer
    would check it (`broadcast_check`: size, channel, Writers policy over the signature) and,
    if it passes, handed over to be ordered as it is: the answer is the orderer's without a
    round trip to the core. Otherwise the core checks it and answers."""

    def __init__(self, core: CoreLink, config_for: Callable[[str], ChannelConfig | None]) -> None:
        self.core = core
        self.config_for = config_for

    async def broadcast(self, env_bytes: bytes) -> tuple[int, str]:
        try:
            parsed = parse_envelope(env_bytes)
        except Exception as exc:  # noqa: BLE001 - what the orderer answers a bad envelope
            return common_pb2.BAD_REQUEST, f"bad envelope: {exc}"
        env, payload, chdr = parsed
        config = self.config_for(chdr.channel_id)
        if config is None:
            return await self.core.submit(env_bytes)
        status, info, size = broadcast_check(config, env_bytes, parsed)
        if status != common_pb2.SUCCESS:
            return status, info
        creator = common_pb2.SignatureHeader.FromString(payload.header.signature_header).creator
        try:
            self.core.order(chdr.channel_id, creator, env.signature, size, env_bytes)
        except LinkError as exc:
            return common_pb2.SERVICE_UNAVAILABLE, f"the ordering service is not reachable: {exc}"
        return common_pb2.SUCCESS, ""


class ForwardingTransientStore(TransientStore):
    """A simulation's private writes go to the core's transient store, where the committing
    peers take them (Fabric disseminates them by gossip at endorsement)."""

    def __init__(self, core: CoreLink) -> None:
        super().__init__()
        self.core = core

    def put(self, txid: str, pvt: Any, channel: str = "") -> None:
        try:
            self.core.put_private(channel, txid, pvt.SerializeToString())
        except LinkError as exc:
            raise ProposalError(f"failed to distribute private data for {txid}: {exc}") from None


class RemoteEndorser:
    """Another peer's ProcessProposal, over a link to its process (opened on first use)."""

    def __init__(self, peer: str, path: str) -> None:
        self.peer = peer
        self.path = path
        self._link: Link | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> Link:
        link = self._link
        if link is not None and link.open:
            return link
        async with self._lock:
            if self._link is None or not self._link.open:
                self._link = await ipc.connect(self.path, _no_notices)
                self._link.name = self.peer
            return self._link

    async def process_proposal(
        self, signed: proposal_pb2.SignedProposal, parsed: ParsedProposal | None = None
    ) -> tuple[proposal_response_pb2.ProposalResponse, str | None]:
        try:
            link = await self._connected()
            reply = await link.request(messages.ENDORSE, signed.SerializeToString())
            err, raw = messages.read_endorsed(reply)
            return proposal_response_pb2.ProposalResponse.FromString(raw), err
        except (OSError, LinkError) as exc:
            why = f"failed to connect to endorser {self.peer}: {exc}"
            return error_response(why), why


def _no_notices(link: Link, kind: int, ident: int, payload: bytes) -> None:
    log.warning("endorser link %s: unexpected message kind %d", link.name, kind)


@dataclass
class RemoteChannel:
    """A channel as the gateway sees it on another peer: its chaincodes, config and committed
    definitions (read from that peer's own state, opened on first use)."""

    channel_id: str
    chaincodes: list[str]
    config: ChannelConfig
    state_path: Path
    _state: StateDB | None = None
    _lookup: Callable[[str], ChaincodeDefinition | None] | None = None

    def definition(self, name: str) -> ChaincodeDefinition | None:
        if self._lookup is None:
            if not self.state_path.exists():
                return None
            self._state = StateDB(self.state_path, readonly=True)
            self._lookup = definitions_from_state(self._state)
        return self._lookup(name)

    def changed(self) -> None:
        if self._state is not None:
            self._state.changed()

    def close(self) -> None:
        if self._state is not None:
            self._state.close()


@dataclass
class _Serialized:
    """A peer's identity as bytes, all the gateway needs of another peer's signer."""

    serialized: bytes

    def serialize(self) -> bytes:
        return self.serialized


@dataclass
class RemotePeer:
    name: str
    msp_id: str
    org: str
    address: str
    signer: _Serialized
    endorser: RemoteEndorser
    channels: dict[str, RemoteChannel] = field(default_factory=dict)

    @classmethod
    def of(
        cls, name: str, msp_id: str, org: str, address: str, identity: bytes, path: str
    ) -> RemotePeer:
        return cls(name, msp_id, org, address, _Serialized(identity), RemoteEndorser(name, path))

    def close(self) -> None:
        for ch in self.channels.values():
            ch.close()


__all__ = [
    "CoreLink",
    "CoreUnavailable",
    "ForwardingTransientStore",
    "RemoteChannel",
    "RemoteEndorser",
    "RemoteOrderer",
    "RemotePeer",
]
