"""A network of embedded-engine peers without sockets, for the peer-services unit tests.

Real ledgers, MSPs, channel config and endorsers (the sandbox's crypto and genesis block);
only the chaincode stream and the orderer are stand-ins: `FakeChaincode` runs a Python function
against the transaction's simulator, `FakeOrderer` records what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from embedded_fixtures import CC, CHANNEL, Chain, smoke_definition
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2
from fabric_protos.peer import proposal_response_pb2 as prp_pb2

from network.embedded import protoutil
from network.embedded.chaincode_handler import TransactionContext
from network.embedded.endorser import TransientStore
from network.embedded.lifecycle import ChaincodeDefinition
from network.embedded.msp import SigningIdentity
from network.embedded.node import PeerNode
from network.embedded.tls import ServerTLS

PEER_ORGS = ("tso", "bsphost", "dsohost")

Result = tuple[prp_pb2.Response, chaincode_event_pb2.ChaincodeEvent | None]
ChaincodeFn = Callable[[PeerNode, TransactionContext, list[bytes]], Result]


def put_args(peer: PeerNode, ctx: TransactionContext, args: list[bytes]) -> Result:
    """The smoke contract's Put: args = [fn, key, value]."""
    assert ctx.simulator is not None
    ctx.simulator.put_state(ctx.namespace, args[1].decode(), args[2])
    return prp_pb2.Response(status=200, payload=b"ok"), None


class FakeChaincode:
    """ChaincodeSupport's `execute` without a stream; the function sees which peer runs it."""

    def __init__(self, peer_ref: list[PeerNode], fn: ChaincodeFn) -> None:
        self._peer = peer_ref
        self.fn = fn
        self.calls = 0

    async def execute(
        self, ctx: TransactionContext, cc_input: chaincode_pb2.ChaincodeInput
    ) -> Result:
        self.calls += 1
        return self.fn(self._peer[0], ctx, list(cc_input.args))

    async def stop(self) -> None:
        return None

    def bind(self, chaincode: str, package: Any) -> None:
        """The package the endorser resolved for `chaincode` (the fake runs `fn` whatever)."""
        self.bound = (chaincode, package.package_id)


@dataclass
class FakeOrderer:
    status: int = common_pb2.SUCCESS
    info: str = ""
    received: list[bytes] = field(default_factory=list)

    async def broadcast(self, env_bytes: bytes) -> tuple[int, str]:
        self.received.append(env_bytes)
        return self.status, self.info


_OPEN: list[PeerNet] = []


def close_nets() -> None:
    """Close the ledgers of every net built since the last call (test teardown)."""
    while _OPEN:
        for p in _OPEN.pop().peers.values():
            p.close()


@dataclass
class PeerNet:
    chain: Chain
    peers: dict[str, PeerNode]
    orderer: FakeOrderer

    def chaincode(self, org: str) -> FakeChaincode:
        return self.peers[org].chaincode_support  # type: ignore[return-value]

    def set_chaincode(self, fn: ChaincodeFn) -> None:
        for p in self.peers.values():
            self.chaincode(p.org).fn = fn

    def commit(self, env_bytes: bytes) -> list[int]:
        """Order one envelope into the next block and commit it on every peer."""
        codes: list[int] = []
        first = next(iter(self.peers.values())).channels[CHANNEL].ledger
        block = self.chain.factory(first).make_block([env_bytes])
        for p in self.peers.values():
            codes = p.channels[CHANNEL].commit(block)
        return codes


def build_net(
    chain: Chain,
    root: Path,
    *,
    definition: ChaincodeDefinition | None = None,
    fn: ChaincodeFn = put_args,
    lifecycle: bool = False,
) -> PeerNet:
    """`lifecycle`: no given definitions; the ledgers know only what `_lifecycle` committed."""
    d = definition or smoke_definition()
    store = TransientStore(consumers=lambda ch: len(PEER_ORGS) if ch == CHANNEL else 0)
    peers: dict[str, PeerNode] = {}
    for i, org in enumerate(PEER_ORGS):
        o = chain.topology.orgs[org]
        host = f"peer0.{o.domain}"
        ref: list[PeerNode] = []
        node = PeerNode(
            name=host,
            msp_id=o.msp_id,
            org=org,
            address=f"127.0.0.1:{7051 + 1000 * i}",
            signer=chain.peer(org),
            tls=ServerTLS.from_dir(chain.layout.node_dir(org, host) / "tls"),
            chaincode_support=FakeChaincode(ref, fn),  # type: ignore[arg-type]
            transient_store=store,
        )
        ref.append(node)
        given = None if lifecycle else (lambda n: d if n == CC else None)
        ledger = chain.open_ledger(root / org, msp_id=o.msp_id, chaincode_definitions=given)
        node.join(ledger, [CC])
        peers[org] = node
    net = PeerNet(chain, peers, FakeOrderer())
    _OPEN.append(net)
    return net


def signed_proposal(
    creator: SigningIdentity,
    args: list[bytes],
    *,
    channel: str = CHANNEL,
    chaincode: str = CC,
    nonce: bytes | None = None,
    transient: dict[str, bytes] | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> tuple[proposal_pb2.SignedProposal, str]:
    prop, txid = protoutil.create_proposal(
        creator.serialize(), channel, chaincode, args, nonce=nonce, transient=transient
    )
    raw = prop.SerializeToString()
    return proposal_pb2.SignedProposal(
        proposal_bytes=raw, signature=(sign or creator.sign)(raw)
    ), txid


class Aborted(Exception):
    pass


class FakeContext:
    """What a servicer sees of grpc.aio.ServicerContext: abort records the status and raises."""

    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.message = ""
        self.trailing: tuple[tuple[str, bytes], ...] = ()

    async def abort(
        self, code: grpc.StatusCode, message: str = "", trailing_metadata: Any = ()
    ) -> None:
        self.code, self.message, self.trailing = code, message, tuple(trailing_metadata)
        raise Aborted(message)

    def status_details(self) -> bytes:
        return dict(self.trailing).get("grpc-status-details-bin", b"")
