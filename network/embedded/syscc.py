"""System chaincodes: qscc, cscc and `_lifecycle` (the last in `lifecycle/scc.py`).

Function names, arguments, ACL resources, messages and result messages are Fabric's
(`core/scc/qscc/query.go`, `core/scc/cscc/configure.go`), so Fabric's own clients - the `peer`
CLI, a gateway's `Network.getBlock` - work unchanged. qscc and cscc name their channel in their
arguments, so they also answer proposals without a channel, as `peer channel getinfo` and
`peer channel list` send them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from fabric_protos.common import common_pb2
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import proposal_response_pb2, query_pb2, transaction_pb2

from .lifecycle import scc as lifecycle_scc
from .policies import SignedData
from .protoutil import ParsedProposal, last_config_index

if TYPE_CHECKING:
    from .node import PeerChannel, PeerNode
    from .rwset import TxSimulator

log = logging.getLogger(__name__)

QSCC, CSCC, LIFECYCLE = "qscc", "cscc", "_lifecycle"
SYSTEM_CHAINCODES = frozenset({QSCC, CSCC, LIFECYCLE})
VERSION = "syscc"

Response: TypeAlias = proposal_response_pb2.Response


def is_syscc(name: str) -> bool:
    return name in SYSTEM_CHAINCODES


def _ok(payload: bytes) -> Response:
    return Response(status=200, payload=payload)


def _error(message: str) -> Response:
    return Response(status=500, message=message)


def _channel_acl(channel: PeerChannel, resource: str, pp: ParsedProposal) -> str | None:
    """A channel ACL (`qscc/GetChainInfo`, ...) checked on the proposal's signed data."""
    policy = channel.config.policy_ref(resource, "/Channel/Application/Readers")
    signed = [SignedData(pp.signed.proposal_bytes, pp.creator, pp.signed.signature)]
    try:
        if channel.config.policy_manager.evaluate(policy, signed):
            return None
        return (
            f"failed evaluating policy on signed data during check policy [{policy}]: "
            "[signature set did not satisfy policy]"
        )
    except Exception as exc:  # noqa: BLE001 - a policy error is a refusal
        return str(exc)


def _local_member(peer: PeerNode, pp: ParsedProposal) -> str | None:
    """Fabric's channelless check of the "Members" policy against the peer's own MSP."""
    try:
        identity = peer.local_msp.deserialize_identity(pp.creator)
    except Exception as exc:  # noqa: BLE001
        return (
            "Failed deserializing proposal creator during channelless check policy with "
            f"policy [Members]: [{exc}]"
        )
    principal = msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
        principal=msp_principal_pb2.MSPRole(
            msp_identifier=peer.msp_id, role=msp_principal_pb2.MSPRole.MEMBER
        ).SerializeToString(),
    )
    if not identity.satisfies_principal(principal):
        return "The identity is not a member of this MSP"
    if not identity.verify(pp.signed.proposal_bytes, pp.signed.signature):
        return "The signature is invalid"
    return None


def invoke(
    peer: PeerNode, channel: PeerChannel | None, pp: ParsedProposal, sim: TxSimulator | None
) -> Response:
    """Run a system chaincode for `pp` on `peer` (`channel` None: a proposal without one)."""
    args = pp.args
    if not args:
        return _error(f"Incorrect number of arguments, {len(args)}")
    fn = args[0].decode(errors="replace")
    try:
        if pp.chaincode_name == LIFECYCLE:
            return _lifecycle(peer, channel, pp, fn, args, sim)
        if pp.chaincode_name == QSCC:
            return _qscc(peer, pp, fn, args)
        return _cscc(peer, pp, fn, args)
    except Exception as exc:  # a malformed argument must not take the peer down
        log.warning("%s %s failed: %s", pp.chaincode_name, fn, exc)
        return _error(f"{fn} failed: {exc}")


def _lifecycle(
    peer: PeerNode,
    channel: PeerChannel | None,
    pp: ParsedProposal,
    fn: str,
    args: list[bytes],
    sim: TxSimulator | None,
) -> Response:
    if len(args) != 2:
        return _error(
            f"lifecycle scc operations require exactly two arguments but received {len(args)}"
        )
    inv = lifecycle_scc.Invocation(
        fn=fn,
        arg=args[1],
        signed=pp.signed,
        creator=pp.creator,
        msp_id=peer.msp_id,
        local_msp=peer.local_msp,
        packages=peer.packages,
        config=channel.config if channel is not None else None,
        sim=sim,
        references=lambda package_id: lifecycle_scc.package_references(
            package_id, peer.channels, peer.msp_id
        ),
    )
    return lifecycle_scc.invoke(inv)


def _qscc(peer: PeerNode, pp: ParsedProposal, fn: str, args: list[bytes]) -> Response:
    if len(args) < 2:
        return _error(f"Incorrect number of arguments, {len(args)}")
    cid = args[1].decode(errors="replace")
    if fn != "GetChainInfo" and len(args) < 3:
        return _error(f"missing 3rd argument for {fn}")
    channel = peer.channels.get(cid)
    if channel is None:
        return _error(f"Invalid chain ID, {cid}")
    functions: dict[str, Callable[[], Response]] = {
        "GetChainInfo": lambda: _chain_info(channel),
        "GetBlockByNumber": lambda: _block_by_number(channel, args[2]),
        "GetBlockByHash": lambda: _block_by_hash(channel, args[2]),
        "GetTransactionByID": lambda: _tx_by_id(channel, args[2]),
        "GetBlockByTxID": lambda: _block_by_txid(channel, args[2]),
    }
    denied = _channel_acl(channel, f"qscc/{fn}", pp)
    if denied is not None:
        return _error(f"access denied for [{fn}][{cid}]: [{denied}]")
    if fn not in functions:
        return _error(f"Requested function {fn} not found.")
    return functions[fn]()


def _chain_info(channel: PeerChannel) -> Response:
    return _ok(channel.ledger.info().SerializeToString())


def _block_by_number(channel: PeerChannel, arg: bytes) -> Response:
    try:
        number = int(arg.decode())
    except ValueError:
        return _error(f"Failed to parse block number with error strconv.ParseUint: {arg!r}")
    if number >= channel.ledger.height:
        return _error(f"Failed to get block number {number}, error entry not found in index")
    return _ok(channel.ledger.get_block_bytes(number))


def _block_by_hash(channel: PeerChannel, arg: bytes) -> Response:
    block = channel.ledger.get_block_by_hash(arg)
    if block is None:
        return _error(f"Failed to get block hash {arg.hex()}, error entry not found in index")
    return _ok(block.SerializeToString())


def _tx_by_id(channel: PeerChannel, arg: bytes) -> Response:
    txid = arg.decode(errors="replace")
    found = channel.ledger.get_tx_by_id(txid)
    if found is None:
        return _error(
            f"Failed to get transaction with id {txid}, error no such transaction ID [{txid}] in index"
        )
    env_bytes, code, _block = found
    processed = transaction_pb2.ProcessedTransaction(
        transactionEnvelope=common_pb2.Envelope.FromString(env_bytes), validationCode=code
    )
    return _ok(processed.SerializeToString())


def _block_by_txid(channel: PeerChannel, arg: bytes) -> Response:
    txid = arg.decode(errors="replace")
    found = channel.ledger.get_tx_by_id(txid)
    if found is None:
        return _error(
            f"Failed to get block for txID {txid}, error no such transaction ID [{txid}] in index"
        )
    return _ok(channel.ledger.get_block_bytes(found[2]))


def _cscc(peer: PeerNode, pp: ParsedProposal, fn: str, args: list[bytes]) -> Response:
    if fn not in ("GetChannels", "JoinBySnapshotStatus") and len(args) < 2:
        return _error(f"Incorrect number of arguments, {len(args)}")
    if fn == "GetChannels":
        denied = _local_member(peer, pp)
        if denied is not None:
            return _error(f"access denied for [{fn}]: {denied}")
        channels = [query_pb2.ChannelInfo(channel_id=c) for c in sorted(peer.channels)]
        return _ok(query_pb2.ChannelQueryResponse(channels=channels).SerializeToString())
    if fn in ("GetChannelConfig", "GetConfigBlock"):
        cid = args[1].decode(errors="replace")
        if not cid:
            return _error("empty channel name provided")
        channel = peer.channels.get(cid)
        if channel is None:
            return _error(f"Unknown chain ID, {cid}")
        denied = _channel_acl(channel, f"cscc/{fn}", pp)
        if denied is not None:
            return _error(f"access denied for [{fn}][{cid}]: {denied}")
        if fn == "GetChannelConfig":
            return _ok(channel.config.config.SerializeToString())
        last = channel.ledger.get_block(channel.ledger.height - 1)
        return _ok(channel.ledger.get_block_bytes(last_config_index(last)))
    if fn in ("JoinChain", "JoinChainBySnapshot", "JoinBySnapshotStatus"):
        # the engine's peers and channels come from the topology; a peer joins at start
        return _error(
            f"{fn} is not supported by this peer: its channels are the topology's, joined when "
            "the engine starts"
        )
    return _error(f"Requested function {fn} not found.")
