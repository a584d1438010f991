"""System chaincodes reached through Evaluate: qscc, cscc and the query side of _lifecycle.

Function names, arguments, ACL resources and result messages are Fabric's
(`core/scc/qscc/query.go`, `core/scc/cscc/configure.go`, `core/chaincode/lifecycle/scc.go`),
so Fabric clients that decode them (e.g. a gateway `Network.getBlock`) work unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from fabric_protos.common import ledger_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from .policies import SignedData
from .protoutil import ParsedProposal, block_header_hash

if TYPE_CHECKING:
    from .node import PeerChannel, PeerNode

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


def _readers_ok(channel: PeerChannel, resource: str, pp: ParsedProposal) -> str | None:
    policy = channel.config.policy_ref(resource, "/Channel/Application/Readers")
    signed = [SignedData(pp.signed.proposal_bytes, pp.creator, pp.signed.signature)]
    try:
        if channel.config.policy_manager.evaluate(policy, signed):
            return None
        return f"failed evaluating policy on signed data during check policy [{policy}]: [signature set did not satisfy policy]"
    except Exception as exc:
        return str(exc)


def invoke(channel: PeerChannel, pp: ParsedProposal, peer: PeerNode) -> Response:
    args = pp.args
    if not args:
        return _error(f"Incorrect number of arguments, {len(args)}")
    fn = args[0].decode(errors="replace")
    handler = {QSCC: _qscc, CSCC: _cscc, LIFECYCLE: _lifecycle}[pp.chaincode_name]
    try:
        return handler(channel, pp, fn, args[1:])
    except Exception as exc:  # a malformed argument must not take the peer down
        log.warning("%s %s failed: %s", pp.chaincode_name, fn, exc)
        return _error(f"{fn} failed: {exc}")


def _qscc(channel: PeerChannel, pp: ParsedProposal, fn: str, args: list[bytes]) -> Response:
    if len(args) < 1:
        return _error(f"Incorrect number of arguments, {len(args) + 1}")
    cid = args[0].decode()
    if cid != channel.channel_id:
        return _error(f"Invalid chain ID, {cid}")
    functions: dict[str, Callable[[], Response]] = {
        "GetChainInfo": lambda: _chain_info(channel),
        "GetBlockByNumber": lambda: _block_by_number(channel, args),
        "GetBlockByHash": lambda: _block_by_hash(channel, args),
        "GetTransactionByID": lambda: _tx_by_id(channel, args),
        "GetBlockByTxID": lambda: _block_by_txid(channel, args),
    }
    if fn not in functions:
        return _error(f"Requested function {fn} not found.")
    if fn != "GetChainInfo" and len(args) < 2:
        return _error(f"missing 3rd argument for {fn}")
    denied = _readers_ok(channel, f"qscc/{fn}", pp)
    if denied is not None:
        return _error(f"access denied for [{fn}][{cid}]: [{denied}]")
    return functions[fn]()


def _chain_info(channel: PeerChannel) -> Response:
    ledger = channel.ledger
    last = ledger.get_block(ledger.height - 1)
    info = ledger_pb2.BlockchainInfo(
        height=ledger.height,
        currentBlockHash=block_header_hash(last.header),
        previousBlockHash=last.header.previous_hash,
    )
    return _ok(info.SerializeToString())


def _block_by_number(channel: PeerChannel, args: list[bytes]) -> Response:
    number = int(args[1].decode())
    if number >= channel.ledger.height:
        return _error(f"Failed to get block number {number}, error entry not found in index")
    return _ok(channel.ledger.get_block(number).SerializeToString())


def _block_by_hash(channel: PeerChannel, args: list[bytes]) -> Response:
    block = channel.ledger.get_block_by_hash(args[1])
    if block is None:
        return _error(f"Failed to get block hash {args[1].hex()}, error entry not found in index")
    return _ok(block.SerializeToString())


def _tx_by_id(channel: PeerChannel, args: list[bytes]) -> Response:
    txid = args[1].decode()
    found = channel.ledger.get_tx_by_id(txid)
    if found is None:
        return _error(
            f"Failed to get transaction with id {txid}, error no such transaction ID [{txid}] in index"
        )
    env_bytes, code, _block = found
    from fabric_protos.common import common_pb2

    processed = transaction_pb2.ProcessedTransaction(
        transactionEnvelope=common_pb2.Envelope.FromString(env_bytes), validationCode=code
    )
    return _ok(processed.SerializeToString())


def _block_by_txid(channel: PeerChannel, args: list[bytes]) -> Response:
    txid = args[1].decode()
    found = channel.ledger.get_tx_by_id(txid)
    if found is None:
        return _error(
            f"Failed to get block for txID {txid}, error no such transaction ID [{txid}] in index"
        )
    return _ok(channel.ledger.get_block(found[2]).SerializeToString())


def _cscc(channel: PeerChannel, pp: ParsedProposal, fn: str, args: list[bytes]) -> Response:
    if fn != "GetChannelConfig":
        return _error(f"Requested function {fn} not found.")
    if len(args) < 1 or args[0].decode() != channel.channel_id:
        return _error("Incorrect number of arguments or channel")
    denied = _readers_ok(channel, "cscc/GetChannelConfig", pp)
    if denied is not None:
        return _error(f"access denied for [{fn}][{channel.channel_id}]: [{denied}]")
    return _ok(channel.config.config.SerializeToString())


def _lifecycle(channel: PeerChannel, pp: ParsedProposal, fn: str, args: list[bytes]) -> Response:
    resource = f"_lifecycle/{fn}"
    if fn == "QueryChaincodeDefinition":
        denied = _readers_ok(channel, resource, pp)
        if denied is not None:
            return _error(f"Failed to authorize invocation due to failed ACL check: {denied}")
        req = lifecycle_pb2.QueryChaincodeDefinitionArgs.FromString(args[0] if args else b"")
        d = channel.definition(req.name)
        if d is None:
            return _error(
                f"failed to invoke backing implementation of 'QueryChaincodeDefinition': "
                f"namespace {req.name} is not defined"
            )
        return _ok(d.to_proto().SerializeToString())
    if fn == "QueryChaincodeDefinitions":
        denied = _readers_ok(channel, resource, pp)
        if denied is not None:
            return _error(f"Failed to authorize invocation due to failed ACL check: {denied}")
        R = lifecycle_pb2.QueryChaincodeDefinitionsResult
        out = R(
            chaincode_definitions=[
                R.ChaincodeDefinition(
                    name=d.name,
                    sequence=d.sequence,
                    version=d.version,
                    endorsement_plugin="escc",
                    validation_plugin="vscc",
                    validation_parameter=d.to_proto().validation_parameter,
                    collections=d.to_proto().collections,
                    init_required=d.init_required,
                )
                for d in channel.all_definitions()
            ]
        )
        return _ok(out.SerializeToString())
    return _error(f"unknown function '{fn}' for _lifecycle through this peer")
