"""The engine's core process: the orderer and every peer's ledger.

It serves AtomicBroadcast on the orderer's port, cuts and writes blocks, and hands each block
to every peer of its channel, which validates and commits it on a thread of its own (the peers
of a channel share one validation when their ledgers agree). Each peer's gRPC services run in a
process of their own (`peer_process.py`), which reads the ledgers this process writes and
reaches it over a local link (`core_service.py`). At start the core recovers the ledgers,
approves and commits the topology's chaincode definitions through `_lifecycle` when the
ledgers lack them (deploy.py), then tells the peer processes it is ready and prints READY.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2_grpc

from hardening.grpc_boundary import ErrorBoundary
from network.ccaas import topology_package

from . import deploy
from .chaincode_support import ChaincodeSupport
from .core_service import CoreService
from .endorser import TransientStore
from .ledger import PeerLedger
from .msp import load_signing_identity
from .node import PeerNode
from .orderer_service import AtomicBroadcastService, ChannelChain, Orderer
from .tls import GRPC_OPTIONS, ServerTLS

log = logging.getLogger(__name__)


@dataclass
class Engine:
    peers: list[PeerNode]
    orderer: Orderer
    servers: list[grpc.aio.Server] = field(default_factory=list)
    package_ids: dict[str, str] = field(default_factory=dict)  # chaincode -> package id
    core: CoreService | None = None  # the peer processes' links
    # with mutual TLS (topology `tls.client_auth_required`): the TLS CAs whose certificates
    # clients may present, every organisation's, as a Fabric node trusts its channels' orgs
    client_roots: bytes | None = None

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop(grace=1.0) for s in self.servers))
        if self.core is not None:
            await self.core.stop()
        # Orderer first: its writer hands its last blocks to the peers' committers.
        for chain in self.orderer.chains.values():
            chain.stop_timer()  # on the loop thread, which owns the timer
            await asyncio.to_thread(chain.close)
        for p in self.peers:
            await p.chaincode_support.stop()
            await asyncio.to_thread(p.close)


def build(home: Path, topology: object, *, one_tx_per_block: bool = False) -> Engine:
    """Open every ledger and identity; nothing listens yet."""
    from network.identities import CryptoLayout
    from network.paths import sandbox_paths

    topo = topology  # network.topology.Topology
    paths = sandbox_paths(home)
    crypto = CryptoLayout(topo, paths.crypto)  # type: ignore[arg-type]
    genesis = {
        ch: common_pb2.Block.FromString(paths.genesis_block(ch).read_bytes())
        for ch in topo.channels  # type: ignore[attr-defined]
    }
    # the package each chaincode is installed as (by the peer processes): the same bytes, so
    # the same package id, as the fabric engine installs
    packages = {
        cc: topology_package(topo, cc, paths.connection_json(cc))  # type: ignore[arg-type]
        for cc in topo.chaincodes  # type: ignore[attr-defined]
        if paths.connection_json(cc).exists()
    }
    channel_peers: dict[str, int] = {}
    for p in topo.peers:  # type: ignore[attr-defined]
        for ch in topo.peer_channels(p):  # type: ignore[attr-defined]
            channel_peers[ch] = channel_peers.get(ch, 0) + 1
    transient = TransientStore(consumers=lambda ch: channel_peers.get(ch, 0))
    peers: list[PeerNode] = []
    for p in topo.peers:  # type: ignore[attr-defined]
        node_dir = crypto.node_dir(p.org, p.host)
        # The core's peers endorse only the deployment's `_lifecycle` proposals (no chaincode
        # runs here) and keep no packages: the peer processes install and run chaincodes.
        node = PeerNode(
            name=p.host,
            msp_id=p.msp_id,
            org=p.org,
            address=p.address,
            signer=load_signing_identity(p.msp_id, node_dir / "msp"),
            tls=ServerTLS.from_dir(node_dir / "tls"),
            chaincode_support=ChaincodeSupport(p.host, {}),
            transient_store=transient,
        )
        for ch in topo.peer_channels(p):  # type: ignore[attr-defined]
            ledger = PeerLedger.open(paths.ledger / p.host / ch, ch, genesis[ch], msp_id=p.msp_id)
            node.join(ledger, list(topo.channel(ch).chaincodes))  # type: ignore[attr-defined]
        peers.append(node)
    o = topo.orderers[0]  # type: ignore[attr-defined]
    o_dir = crypto.node_dir(topo.orderer_org.key, o.host)  # type: ignore[attr-defined]
    o_signer = load_signing_identity(topo.orderer_org.msp_id, o_dir / "msp")  # type: ignore[attr-defined]
    chains: dict[str, ChannelChain] = {}
    for ch, block in genesis.items():
        chain = ChannelChain(
            block, paths.ledger / o.host / ch, o_signer, one_tx_per_block=one_tx_per_block
        )
        chain.peers = [p.channels[ch] for p in peers if ch in p.channels]
        chain.catch_up()
        chains[ch] = chain
    orderer = Orderer(o.host, o.address, chains, ServerTLS.from_dir(o_dir / "tls"))
    roots = None
    if topo.client_auth_required:  # type: ignore[attr-defined]
        roots = b"".join(crypto.tlsca_cert(k).read_bytes() for k in topo.orgs)  # type: ignore[attr-defined]
    return Engine(
        peers,
        orderer,
        package_ids={cc: pkg[0] for cc, pkg in packages.items()},
        client_roots=roots,
    )


async def listen(engine: Engine, run_dir: Path) -> None:
    """The peer processes' links, then the orderer's port (behind the error boundary that
    guards every gRPC service of the engine; the peers' services are in peer_process.py)."""
    engine.core = CoreService(engine.peers, engine.orderer, run_dir)
    await engine.core.start()
    server = grpc.aio.server(options=GRPC_OPTIONS, interceptors=[ErrorBoundary()])
    ab_pb2_grpc.add_AtomicBroadcastServicer_to_server(
        AtomicBroadcastService(engine.orderer), server
    )
    server.add_secure_port(
        engine.orderer.address, engine.orderer.tls.credentials(engine.client_roots)
    )
    await server.start()
    engine.servers.append(server)


async def serve(
    home: Path, topology: object, *, one_tx_per_block: bool = False, stop: asyncio.Event
) -> None:
    from network.identities import CryptoLayout
    from network.paths import sandbox_paths

    started = time.monotonic()
    engine = build(home, topology, one_tx_per_block=one_tx_per_block)
    try:
        await listen(engine, sandbox_paths(home).run)
        crypto = CryptoLayout(topology, sandbox_paths(home).crypto)  # type: ignore[arg-type]
        admins = {
            org.msp_id: load_signing_identity(org.msp_id, crypto.user_dir(key, "Admin") / "msp")
            for key, org in topology.orgs.items()  # type: ignore[attr-defined]
            if any(p.org == key for p in engine.peers)
        }
        await deploy.deploy(engine.peers, engine.orderer, topology, admins, engine.package_ids)
        assert engine.core is not None
        engine.core.ready.set()  # the peer processes waiting in HELLO open their ledgers now
        log.info(
            "engine ready in %.2f s (event loop: %s)",
            time.monotonic() - started,
            type(asyncio.get_running_loop()).__module__.split(".")[0],
        )
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's scans, and collect the young generation less often under load.
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        print("READY", flush=True)  # the one line the sandbox supervisor waits for
        await stop.wait()
    finally:
        await engine.stop()
