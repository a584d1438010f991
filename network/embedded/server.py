"""The engine process: every peer and the orderer of the topology on one asyncio event loop.

Each peer gets its own grpc.aio server (its own TLS port and certificate) serving
gateway.Gateway, protos.Deliver and protos.Endorser; the orderer serves AtomicBroadcast on its
port. At start the engine records the topology's chaincode definitions on each channel (a
`_lifecycle` transaction, see lifecycle.py) when the ledger lacks them, then prints READY.
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
from fabric_protos.gateway import gateway_pb2_grpc
from fabric_protos.orderer import ab_pb2_grpc
from fabric_protos.peer import (
    events_pb2_grpc,
    peer_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from . import lifecycle
from .chaincode_support import ChaincodeSupport
from .deliver import DeliverService
from .endorser import TransientStore
from .gateway_service import GatewayService
from .ledger import PeerLedger
from .limits import ConcurrencyLimiter
from .msp import SigningIdentity, load_signing_identity
from .node import PeerNode
from .orderer_service import AtomicBroadcastService, ChannelChain, Orderer
from .protoutil import create_proposal, create_signed_tx
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


@dataclass
class Engine:
    peers: list[PeerNode]
    orderer: Orderer
    servers: list[grpc.aio.Server] = field(default_factory=list)

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop(grace=1.0) for s in self.servers))
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
    conns = {
        cc: ChaincodeConnection.load(paths.connection_json(cc))
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
        peer_ref: list[PeerNode] = []

        def ledger_for(channel: str, ref: list[PeerNode] = peer_ref) -> PeerLedger | None:
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
            transient_store=transient,
        )
        peer_ref.append(node)
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
    return Engine(peers, orderer)


async def listen(engine: Engine) -> None:
    for peer in engine.peers:
        # each peer admits as many calls per service as a Fabric peer with core.yaml's defaults
        server = grpc.aio.server(options=GRPC_OPTIONS, interceptors=[ConcurrencyLimiter()])
        gateway_pb2_grpc.add_GatewayServicer_to_server(
            GatewayService(peer, engine.peers, engine.orderer), server
        )
        events_pb2_grpc.add_DeliverServicer_to_server(DeliverService(peer), server)
        peer_pb2_grpc.add_EndorserServicer_to_server(EndorserService(peer), server)
        server.add_secure_port(peer.address, peer.tls.credentials())
        await server.start()
        engine.servers.append(server)
    server = grpc.aio.server(options=GRPC_OPTIONS)
    ab_pb2_grpc.add_AtomicBroadcastServicer_to_server(
        AtomicBroadcastService(engine.orderer), server
    )
    server.add_secure_port(engine.orderer.address, engine.orderer.tls.credentials())
    await server.start()
    engine.servers.append(server)


async def deploy_definitions(engine: Engine, topology: object, admin: SigningIdentity) -> None:
    """Record each channel's chaincode definitions when the ledgers lack them (see lifecycle.py)."""
    topo = topology
    waits = []
    for ch_name, ch in topo.channels.items():  # type: ignore[attr-defined]
        channel_peers = [p for p in engine.peers if ch_name in p.channels]
        if not channel_peers:
            continue
        for cc_name in ch.chaincodes:
            cc = topo.chaincodes[cc_name]  # type: ignore[attr-defined]
            want = lifecycle.definition_for(
                cc_name, cc.version, cc.sequence, cc.endorsement, list(cc.collections)
            )
            have = channel_peers[0].channels[ch_name].definition(cc_name)
            if have is not None and have.sequence >= want.sequence:
                continue
            txid = await _commit_definition(engine, ch_name, channel_peers, want, admin)
            waits.append((ch_name, cc_name, txid, channel_peers))
    for ch_name in {w[0] for w in waits}:
        await engine.orderer.chains[ch_name].flush()  # no BatchTimeout wait at start-up
    deadline = time.monotonic() + 30
    for ch_name, cc_name, txid, channel_peers in waits:
        for p in channel_peers:
            pch = p.channels[ch_name]
            while True:
                height = pch.height  # read before the lookup, so no commit slips between
                if (found := pch.ledger.get_tx_by_id(txid)) is not None:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"definition of {cc_name} on {ch_name} was not committed")
                await pch.watcher.wait_above(height, timeout=1.0)
            if found[1] != transaction_pb2.VALID:
                code = transaction_pb2.TxValidationCode.Name(found[1])
                raise RuntimeError(
                    f"definition of chaincode {cc_name} on channel {ch_name} was refused by "
                    f"{p.name}: {code}"
                )
        log.info("chaincode %s defined on channel %s", cc_name, ch_name)


async def _commit_definition(
    engine: Engine, channel: str, peers: list[PeerNode], d: object, admin: SigningIdentity
) -> str:
    args = [b"CommitChaincodeDefinition", lifecycle.commit_args(d).SerializeToString()]  # type: ignore[arg-type]
    prop, txid = create_proposal(admin.serialize(), channel, lifecycle.NAMESPACE, args)
    sim = peers[0].channels[channel].ledger.new_tx_simulator(txid)
    for key, value in lifecycle.definition_writes(d).items():  # type: ignore[arg-type]
        sim.put_state(lifecycle.NAMESPACE, key, value)
    results = sim.results().public_bytes()
    sim.done()
    from fabric_protos.peer import chaincode_pb2

    from .protoutil import proposal_hash

    hdr = common_pb2.Header.FromString(prop.header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(prop.payload)
    response = proposal_response_pb2.Response(status=200)
    action = proposal_pb2.ChaincodeAction(
        results=results,
        response=response,
        chaincode_id=chaincode_pb2.ChaincodeID(name=lifecycle.NAMESPACE, version="syscc"),
    )
    prp = proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=proposal_hash(hdr, cpp), extension=action.SerializeToString()
    ).SerializeToString()
    responses = [p.endorser.endorse(prp, response) for p in peers]
    env = create_signed_tx(prop, responses, admin.sign)
    status, info = await engine.orderer.broadcast(env.SerializeToString())
    if status != common_pb2.SUCCESS:
        raise RuntimeError(f"definition transaction for {channel} refused by the orderer: {info}")
    return txid


async def serve(
    home: Path, topology: object, *, one_tx_per_block: bool = False, stop: asyncio.Event
) -> None:
    from network.identities import CryptoLayout
    from network.paths import sandbox_paths

    started = time.monotonic()
    engine = build(home, topology, one_tx_per_block=one_tx_per_block)
    try:
        await listen(engine)
        bna = topology.bna  # type: ignore[attr-defined]
        crypto = CryptoLayout(topology, sandbox_paths(home).crypto)  # type: ignore[arg-type]
        admin = load_signing_identity(bna.msp_id, crypto.user_dir(bna.key, "Admin") / "msp")
        await deploy_definitions(engine, topology, admin)
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
