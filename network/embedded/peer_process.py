"""A peer process: one peer of the topology serving its own port, as a Fabric peer does.

`python -m network.embedded --home H --peer peer0.tso.cbp.local` runs it. It serves
gateway.Gateway, protos.Deliver and protos.Endorser on the peer's TLS port, runs endorsements
on its own chaincode streams, and reads its ledgers from the files the core writes
(`ledger_follower.py`). What it cannot do alone goes over links (`remote.py`): Submit to the
core's orderer, private writes to the core's transient store, endorsements on other peers to
their processes; the core tells it of every block committed. It prints READY once its port
serves and the core has said it is ready.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path
from typing import Any, cast

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import events_pb2_grpc, peer_pb2_grpc, proposal_pb2, proposal_response_pb2

from hardening.grpc_boundary import ErrorBoundary
from network.ccaas import topology_package

from . import ipc, messages
from .chaincode_support import ChaincodeSupport
from .channelconfig import ChannelConfig
from .deliver import DeliverService
from .gateway_service import GatewayService
from .ipc import Link
from .ledger import Committed, LedgerReader
from .ledger_follower import LedgerFollower
from .lifecycle import PackageStore
from .limits import ConcurrencyLimiter
from .msp import load_signing_identity
from .node import PeerNode
from .remote import CoreLink, ForwardingTransientStore, RemoteChannel, RemoteOrderer, RemotePeer
from .tls import GRPC_OPTIONS, ChaincodeConnection, ServerTLS

log = logging.getLogger(__name__)


class EndorserService(peer_pb2_grpc.EndorserServicer):
    def __init__(self, peer: PeerNode) -> None:
        self.peer = peer

    async def ProcessProposal(  # noqa: N802
        self, request: proposal_pb2.SignedProposal, context: grpc.aio.ServicerContext
    ) -> proposal_response_pb2.ProposalResponse:
        response, err = await self.peer.endorser.process_proposal(request)
        if err is not None:
            await context.abort(grpc.StatusCode.UNKNOWN, err)
        return response


class PeerProcess:
    """Everything one peer process runs."""

    def __init__(self, home: Path, topology: Any, name: str) -> None:
        from network.identities import CryptoLayout
        from network.paths import sandbox_paths

        spec = next((p for p in topology.peers if p.host == name), None)
        if spec is None:
            names = ", ".join(p.host for p in topology.peers)
            raise ValueError(f"the topology has no peer {name!r}; its peers are {names}")
        self.topology = topology
        self.spec = spec
        self.paths = sandbox_paths(home)
        self.crypto = CryptoLayout(topology, self.paths.crypto)
        self.name = name
        self.core = CoreLink(
            ipc.socket_path(self.paths.run, messages.CORE_SOCKET),
            name,
            self._committed,
            self._committed_elsewhere,
            self._heights,
        )
        self.node = self._node()
        self.followers: dict[str, LedgerFollower] = {}
        self.others: dict[str, RemotePeer] = {}
        self.server: grpc.aio.Server | None = None
        self._endorse_server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._early: list[tuple[str, Committed]] | None = []

    def _node(self) -> PeerNode:
        p, topo, paths = self.spec, self.topology, self.paths
        node_dir = self.crypto.node_dir(p.org, p.host)
        conns = {
            cc: ChaincodeConnection.load(paths.connection_json(cc))
            for cc in topo.chaincodes
            if paths.connection_json(cc).exists()
        }
        ref: list[PeerNode] = []

        def ledger_for(channel: str) -> LedgerReader | None:
            ch = ref[0].channels.get(channel) if ref else None
            return ch.ledger if ch is not None else None

        node = PeerNode(
            name=p.host,
            msp_id=p.msp_id,
            org=p.org,
            address=p.address,
            signer=load_signing_identity(p.msp_id, node_dir / "msp"),
            tls=ServerTLS.from_dir(node_dir / "tls"),
            chaincode_support=ChaincodeSupport(p.host, conns, ledger_for=ledger_for),
            transient_store=ForwardingTransientStore(self.core),
            packages=PackageStore(paths.ledger / p.host / "chaincodes"),
        )
        ref.append(node)
        # The sandbox's own packages, installed on the peer that runs them (the same bytes,
        # so the same package ids, as the fabric engine installs).
        wanted = {cc for ch in topo.peer_channels(p) for cc in topo.channel(ch).chaincodes}
        for cc in sorted(wanted & set(conns)):
            package_id, data = topology_package(topo, cc, paths.connection_json(cc))
            node.packages.ensure(data, package_id)
        return node

    # --- the ledgers, as the core reports them ------------------------------------------------

    def _genesis(self, channel: str) -> common_pb2.Block:
        return common_pb2.Block.FromString(self.paths.genesis_block(channel).read_bytes())

    def open_ledgers(self, heights: dict[str, int]) -> None:
        p, topo = self.spec, self.topology
        for ch in topo.peer_channels(p):
            follower = LedgerFollower(
                self.paths.ledger / p.host / ch,
                ch,
                self._genesis(ch),
                height=heights.get(ch, 0),
                msp_id=p.msp_id,
            )
            self.followers[ch] = follower
            self.node.join(follower, list(topo.channel(ch).chaincodes))
        configs: dict[str, ChannelConfig] = {}
        for other in topo.peers:
            if other.host == p.host:
                continue
            signcert = self.crypto.signcert(self.crypto.node_dir(other.org, other.host))
            identity = identities_pb2.SerializedIdentity(
                mspid=other.msp_id, id_bytes=signcert.read_bytes()
            ).SerializeToString()
            remote = RemotePeer.of(
                other.host,
                other.msp_id,
                other.org,
                other.address,
                identity,
                ipc.socket_path(self.paths.run, messages.peer_socket(other.host)),
            )
            for ch in topo.peer_channels(other):
                config = configs.get(ch)
                if config is None:
                    own = self.followers.get(ch)
                    config = own.channel_config if own else None
                    config = config or ChannelConfig.from_block(self._genesis(ch), ch)
                    configs[ch] = config
                remote.channels[ch] = RemoteChannel(
                    ch,
                    list(topo.channel(ch).chaincodes),
                    config,
                    self.paths.ledger / other.host / ch / "state.sqlite",
                )
            self.others[other.host] = remote
        early, self._early = self._early or [], None
        for channel, c in early:
            self._committed(channel, c)

    def _committed(self, channel: str, c: Committed) -> None:
        if self._early is not None:  # told before the ledgers are open: after, in order
            self._early.append((channel, c))
            return
        follower = self.followers.get(channel)
        if follower is not None:
            follower.advance(c)

    def _committed_elsewhere(self, peer: str, channel: str, number: int) -> None:
        other = self.others.get(peer)
        ch = other.channels.get(channel) if other is not None else None
        if ch is not None:
            ch.changed()

    def _heights(self, heights: dict[str, int]) -> None:
        """After the core restarted: what it committed while this process was not told."""
        for ch, follower in self.followers.items():
            caught = follower.catch_up(heights.get(ch, 0))
            if caught:
                log.info("%s: %s caught up %d blocks from the block file", self.name, ch, caught)
        for other in self.others.values():
            for rc in other.channels.values():
                rc.changed()

    # --- serving ------------------------------------------------------------------------------

    async def listen(self) -> None:
        node = self.node
        peers = [node, *self.others.values()]
        # as many calls per service as a Fabric peer admits with core.yaml's defaults; the error
        # boundary is outermost, so it also guards what the limiter refuses
        server = grpc.aio.server(
            options=GRPC_OPTIONS, interceptors=[ErrorBoundary(), ConcurrencyLimiter()]
        )
        gateway_pb2_grpc.add_GatewayServicer_to_server(
            GatewayService(node, cast(list[PeerNode], peers), self.orderer()), server
        )
        events_pb2_grpc.add_DeliverServicer_to_server(DeliverService(node), server)
        peer_pb2_grpc.add_EndorserServicer_to_server(EndorserService(node), server)
        server.add_secure_port(node.address, node.tls.credentials(self.client_roots()))
        await server.start()
        self.server = server
        path = ipc.socket_path(self.paths.run, messages.peer_socket(self.name))
        self._endorse_server = await ipc.serve(path, self._on_endorse)

    def client_roots(self) -> bytes | None:
        """With mutual TLS (topology `tls.client_auth_required`): every organisation's TLS CA,
        the certificates clients may present, as the core's orderer port also requires."""
        if not self.topology.client_auth_required:
            return None
        return b"".join(self.crypto.tlsca_cert(k).read_bytes() for k in self.topology.orgs)

    def orderer(self) -> RemoteOrderer:
        def config_for(channel: str) -> ChannelConfig | None:
            follower = self.followers.get(channel)
            return follower.channel_config if follower is not None else None

        return RemoteOrderer(self.core, config_for)

    def _on_endorse(self, link: Link, kind: int, ident: int, payload: bytes) -> None:
        if kind != messages.ENDORSE:
            log.warning("endorser link: unknown message kind %d; closing it", kind)
            link.close()
            return
        task = asyncio.create_task(self._endorse(link, ident, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _endorse(self, link: Link, ident: int, payload: bytes) -> None:
        try:
            signed = proposal_pb2.SignedProposal.FromString(payload)
        except Exception as exc:  # noqa: BLE001 - an undecodable proposal is refused
            link.reply(ident, messages.endorsed(f"bad signed proposal: {exc}", b""))
            return
        response, err = await self.node.endorser.process_proposal(signed)
        link.reply(ident, messages.endorsed(err, response.SerializeToString()))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(grace=1.0)
        if self._endorse_server is not None:
            self._endorse_server.close()
            ipc.unlink(ipc.socket_path(self.paths.run, messages.peer_socket(self.name)))
        await self.core.close()
        await self.node.chaincode_support.stop()
        self.node.close()
        for other in self.others.values():
            other.close()


async def serve(home: Path, topology: Any, name: str, *, stop: asyncio.Event) -> None:
    started = time.monotonic()
    proc = PeerProcess(home, topology, name)
    try:
        heights = await proc.core.connect()
        proc.open_ledgers(heights)
        await proc.listen()
        log.info("peer %s ready in %.2f s", name, time.monotonic() - started)
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        print("READY", flush=True)  # the one line the sandbox supervisor waits for
        await stop.wait()
    finally:
        await proc.stop()


__all__ = ["EndorserService", "PeerProcess", "serve"]
