"""`cbp audit history|block|tx|verify`: what an auditor reads from the ledger, and checks.

Human output by default, `--json` for machines. Queries go through the gateway as the chosen
identity (default: the TSO's User1), so the channel's Readers policy decides who may audit.
`verify` recomputes every block's data hash, its link to the previous header and the orderer
signatures on the client; with `--block-file` it verifies a copy of a ledger's block file
instead of asking a peer: a real Fabric peer's or orderer's, or the embedded engine's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway import GatewayError, from_profile, verify_chain
from gateway.ledger import BlockRecord, TransactionRecord, decode_block


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _text(value: bytes, limit: int = 120) -> str:
    try:
        s = value.decode("utf-8")
    except UnicodeDecodeError:
        s = "0x" + value.hex()
    return s if len(s) <= limit else s[:limit] + f"… ({len(value)} bytes)"


def print_transaction(tx: TransactionRecord, indent: str = "") -> None:
    status = tx.validation or "?"
    print(f"{indent}tx {tx.transaction_id}  {tx.type}  {status}  {tx.timestamp.isoformat()}")
    print(f"{indent}  creator   {tx.creator_msp}  {tx.creator_subject}")
    if tx.chaincode:
        args = ", ".join(_text(a, 40) for a in tx.args)
        print(f"{indent}  invoked   {tx.chaincode} {tx.function}({args})")
    if tx.endorsers:
        print(f"{indent}  endorsers {', '.join(tx.endorsers)}")
    for r in tx.reads:
        version = f"block {r.version[0]} tx {r.version[1]}" if r.version else "absent"
        print(f"{indent}  read      {r.namespace} {r.key!r} @ {version}")
    for w in tx.writes:
        what = "DELETE" if w.is_delete else _text(w.value, 80)
        print(f"{indent}  write     {w.namespace} {w.key!r} = {what}")
    if tx.private_collections:
        print(f"{indent}  private   {', '.join(tx.private_collections)} (hashes only)")
    if tx.events:
        print(f"{indent}  events    {', '.join(tx.events)}")


def print_block(block: BlockRecord) -> None:
    print(f"block {block.number}")
    print(f"  header hash    {block.header_hash.hex()}")
    print(f"  previous hash  {block.previous_hash.hex() or '-'}")
    print(f"  data hash      {block.data_hash.hex()}")
    print(f"  transactions   {len(block.transactions)}")
    for tx in block.transactions:
        print_transaction(tx, indent="  ")


class BlockFileUnreadable(ValueError):
    """A --block-file that is neither format, or damaged beyond reading."""


def _blocks_from_file(path: Path) -> Iterator[Any]:
    """The blocks of a block file: a Fabric peer's or orderer's (`blockfile_NNNNNN`, or the
    ledger folder holding them) or this project's embedded engine's (`blocks.bin`, or its
    ledger folder). The format is told from the name, else from the first bytes."""
    from gateway.blockfile import (
        FABRIC_FILE,
        fabric_block_files,
        looks_like_fabric_block_file,
        read_fabric_block_file,
        read_fabric_ledger,
    )
    from network.embedded.blockstore import looks_like_engine_block_file, read_block_file

    if not path.exists():
        raise BlockFileUnreadable(f"{path} does not exist")
    if path.is_dir():
        if (path / "blocks.bin").is_file():
            return read_block_file(path)
        if fabric_block_files(path):
            return read_fabric_ledger(path)
        raise BlockFileUnreadable(
            f"{path} holds no block file: neither blockfile_NNNNNN (a Fabric peer's or "
            "orderer's ledger folder) nor blocks.bin (the embedded engine's)"
        )
    if FABRIC_FILE.match(path.name):
        return read_fabric_block_file(path)
    if path.name == "blocks.bin":
        return read_block_file(path)
    with open(path, "rb") as f:
        head = f.read(64)
    if looks_like_engine_block_file(head):
        return read_block_file(path)
    if looks_like_fabric_block_file(head):
        return read_fabric_block_file(path)
    raise BlockFileUnreadable(
        f"{path} is not a block file this command reads: neither Fabric's block store format "
        "(blockfile_NNNNNN) nor the embedded engine's (blocks.bin)"
    )


def cmd_audit(args: argparse.Namespace) -> int:
    if args.what == "verify" and args.block_file:
        from gateway.blockfile import BlockFileError
        from network.embedded.blockstore import BlockStoreError

        try:
            report = verify_chain(_blocks_from_file(Path(args.block_file)))
        except (BlockFileUnreadable, BlockFileError, BlockStoreError, OSError) as exc:
            print(f"cbp audit verify: cannot read the block file: {exc}", file=sys.stderr)
            return 2
        return _print_report(report, args, source=args.block_file)
    try:
        with from_profile(args.org, args.user, args.profile) as gw:
            network = gw.get_network(args.channel)
            if args.what == "block":
                block = decode_block(network.get_block(int(args.target)))
                _out(block, args, print_block)
            elif args.what == "tx":
                _out(network.get_transaction(args.target), args, print_transaction)
            elif args.what == "history":
                contract = network.get_contract(args.chaincode)
                raw = contract.evaluate_transaction(args.function, args.target)
                history = json.loads(raw) if raw else []
                if args.json:
                    print(json.dumps(history, indent=2, sort_keys=True))
                else:
                    print(f"history of {args.target} on {args.channel} ({len(history)} entries)")
                    for entry in history:
                        print("  " + json.dumps(entry, sort_keys=True))
            else:
                report = network.audit_chain()
                return _print_report(report, args, source=f"channel {args.channel}")
    except GatewayError as exc:
        print(f"cbp audit: {exc}", file=sys.stderr)
        return 1
    return 0


def _out(value: Any, args: argparse.Namespace, human: Any) -> None:
    if args.json:
        print(json.dumps(_jsonable(value), indent=2, sort_keys=True))
    else:
        human(value)


def _print_report(report: Any, args: argparse.Namespace, source: str) -> int:
    if args.json:
        print(
            json.dumps(
                {**_jsonable(report), "ok": report.ok, "bad_blocks": list(report.bad_blocks)},
                indent=2,
                sort_keys=True,
            )
        )
    elif report.ok:
        print(
            f"OK: {source}: blocks {report.first_block}..{report.last_block} "
            f"({report.blocks_checked} blocks, {report.signatures_checked} orderer signatures) "
            "hash-chained and signed"
        )
    else:
        print(
            f"FAILED: {source}: {len(report.findings)} finding(s) in block(s) "
            f"{', '.join(map(str, report.bad_blocks))}"
        )
        for f in report.findings:
            print(f"  {f}")
    return 0 if report.ok else 2


def add_audit_parser(sub: Any) -> None:
    p = sub.add_parser(
        "audit",
        help="read and verify the ledger: key history, blocks, transactions, hash chain",
        description="Audit a channel's ledger. verify exits 2 when the chain does not verify.",
    )
    p.add_argument(
        "what",
        choices=["history", "block", "tx", "verify"],
        help="history KEY | block NUMBER | tx TXID | verify",
    )
    p.add_argument("channel", help="channel name, e.g. bsp1-channel")
    p.add_argument(
        "target",
        nargs="?",
        default="",
        help="the key (history), block number (block) or transaction id (tx)",
    )
    p.add_argument("--org", default="tso", help="org key of the identity to query as (default tso)")
    p.add_argument("--user", default="User1", help="user of that org (default User1)")
    p.add_argument(
        "--profile", help="connection profile (default $CBP_HOME/connection-profile.json)"
    )
    p.add_argument(
        "--chaincode", default="registry", help="chaincode for history (default registry)"
    )
    p.add_argument(
        "--function",
        default="GetPodHistory",
        help="the chaincode's history transaction (default GetPodHistory; GetUvamHistory for a UVAM)",
    )
    p.add_argument(
        "--block-file",
        help="verify: a copy of a ledger's block file instead of asking a peer - a Fabric peer's "
        "or orderer's blockfile_NNNNNN (or its ledger folder), or the embedded engine's blocks.bin",
    )
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_checked)


def _checked(args: argparse.Namespace) -> int:
    if args.what in ("history", "block", "tx") and not args.target:
        print(
            f"cbp audit {args.what}: needs a {'key' if args.what == 'history' else 'block number' if args.what == 'block' else 'transaction id'}",
            file=sys.stderr,
        )
        return 2
    return cmd_audit(args)
