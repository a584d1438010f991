"""`cbp audit history|block|tx|verify`: what an auditor reads from the ledger, and checks.

Human output by default, `--json` for machines. Queries go through the gateway as the chosen
identity (default: the TSO's User1), so the channel's Readers policy decides who may audit.
`verify` recomputes every block's data hash, its link to the previous header and the orderer
signatures on the client; with `--block-file` it verifies a copy of a ledger's block file
instead of asking a peer: a real Fabric peer's or orderer's, or the embedded engine's. `series`
checks a measurement series file against its anchor (audit_series.py). Bytes that are not text
(Fabric's own `_lifecycle` arguments and values, say) are decoded or shown as hex, never as raw
control characters.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cbp.errors import CliError

TX_ID = re.compile(r"[0-9a-f]{64}")
BOOKKEEPING = ("updatedBy", "updatedAt", "lastTxId")  # the registry's stamps on each version
SHOWN_FIELDS = 100  # characters of a field value shown in the history; --json has them whole


def _jsonable(value: Any) -> Any:
    from gateway.readable import describe_bytes

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return describe_bytes(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + f"… ({len(text)} characters)"


def _transaction_json(tx: Any) -> dict[str, Any]:
    from gateway.readable import describe_args, describe_write

    doc: dict[str, Any] = _jsonable(tx)
    doc["args"] = list(describe_args(tx.chaincode, tx.function, tx.args))
    for out, w in zip(doc["writes"], tx.writes, strict=True):
        out["value"] = "" if w.is_delete else describe_write(w.namespace, w.key, w.value)
    doc["validation"] = tx.validation
    return doc


def print_transaction(tx: Any, indent: str = "") -> None:
    from gateway.readable import describe_args, describe_write

    status = tx.validation or "?"
    print(f"{indent}tx {tx.transaction_id}  {tx.type}  {status}  {tx.timestamp.isoformat()}")
    print(f"{indent}  creator   {tx.creator_msp}  {tx.creator_subject}")
    if tx.chaincode:
        # a chaincode definition is shown whole: its endorsement policy comes after its
        # collections, and it is what an auditor reads a _lifecycle call for
        limit = 4000 if tx.chaincode == "_lifecycle" else 200
        described = describe_args(tx.chaincode, tx.function, tx.args)
        args = ", ".join(_cut(a, limit) for a in described)
        print(f"{indent}  invoked   {tx.chaincode} {tx.function}({args})")
    if tx.endorsers:
        print(f"{indent}  endorsers {', '.join(tx.endorsers)}")
    for r in tx.reads:
        version = f"block {r.version[0]} tx {r.version[1]}" if r.version else "absent"
        print(f"{indent}  read      {r.namespace} {r.key!r} @ {version}")
    for w in tx.writes:
        what = "DELETE" if w.is_delete else _cut(describe_write(w.namespace, w.key, w.value), 200)
        print(f"{indent}  write     {w.namespace} {w.key!r} = {what}")
    if tx.private_collections:
        print(f"{indent}  private   {', '.join(tx.private_collections)} (hashes only)")
    if tx.events:
        print(f"{indent}  events    {', '.join(tx.events)}")


def print_block(block: Any) -> None:
    print(f"block {block.number}")
    print(f"  header hash    {block.header_hash.hex()}")
    print(f"  previous hash  {block.previous_hash.hex() or '-'}")
    print(f"  data hash      {block.data_hash.hex()}")
    print(f"  transactions   {len(block.transactions)}")
    for tx in block.transactions:
        print_transaction(tx, indent="  ")


def _field(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _cut(text, SHOWN_FIELDS)


def print_history(key: str, channel: str, history: list[Any]) -> None:
    """One block of lines per version, oldest first: when, which transaction, who, and what
    changed since the version before (every field for the first)."""
    print(f"history of {key} on {channel}: {len(history)} version(s), oldest first")
    previous: dict[str, Any] = {}
    for n, entry in enumerate(history, 1):
        if not isinstance(entry, dict) or "txId" not in entry:
            print(f"\n  {json.dumps(entry, sort_keys=True)}")
            continue
        actor = entry.get("actor") or {}
        who = " ".join(str(actor[k]) for k in ("mspId", "role", "eic") if actor.get(k)) or "-"
        print(f"\nversion {n}  {entry.get('timestamp', '?')}  by {who}")
        print(f"  tx        {entry['txId']}")
        value = entry.get("value")
        if entry.get("isDelete") or value is None:
            print("  deleted")
            previous = {}
            continue
        if not isinstance(value, dict):
            print(f"  value     {_field(value)}")
            continue
        # who, when and which transaction head each version: not repeated as changed fields
        skip = ("updatedBy",) if not previous else BOOKKEEPING
        changed = [k for k in sorted(value) if k not in skip and previous.get(k) != value[k]]
        removed = [k for k in sorted(previous) if k not in value]
        if not changed and not removed:
            print("  (no field changed)")
        width = max((len(k) for k in changed + removed), default=0)
        for k in changed:
            before = f"{_field(previous[k])} -> " if k in previous else ""
            print(f"  {k:<{width}}  {before}{_field(value[k])}")
        for k in removed:
            print(f"  {k:<{width}}  removed")
        previous = value


def _blocks_from_file(path: Path) -> Iterator[Any]:
    """The blocks of a block file: a Fabric peer's or orderer's (`blockfile_NNNNNN`, or the
    ledger folder holding them) or this project's embedded engine's (`blocks.bin`, or its
    ledger folder). The format is told from the name, else from the first bytes."""
    from gateway.blockfile import (
        FABRIC_FILE,
        BlockFileError,
        fabric_block_files,
        looks_like_fabric_block_file,
        read_fabric_block_file,
        read_fabric_ledger,
    )
    from network.embedded.blockstore import (
        BlockStoreError,
        looks_like_engine_block_file,
        read_block_file,
    )

    formats = "Fabric's block store (blockfile_NNNNNN) or the embedded engine's (blocks.bin)"
    if not path.exists():
        raise CliError(f"--block-file {path}: no such file or folder")
    if path.is_dir():
        if (path / "blocks.bin").is_file():
            blocks = read_block_file(path)
        elif fabric_block_files(path):
            blocks = read_fabric_ledger(path)
        else:
            raise CliError(f"--block-file {path}: the folder holds no block file of {formats}")
    elif FABRIC_FILE.match(path.name):
        blocks = read_fabric_block_file(path)
    elif path.name == "blocks.bin":
        blocks = read_block_file(path)
    else:
        with open(path, "rb") as f:
            head = f.read(64)
        if looks_like_engine_block_file(head):
            blocks = read_block_file(path)
        elif looks_like_fabric_block_file(head):
            blocks = read_fabric_block_file(path)
        else:
            raise CliError(f"--block-file {path} is not a block file: it is in neither {formats}")
    try:
        yield from blocks
    except (BlockFileError, BlockStoreError, OSError) as exc:
        raise CliError(f"--block-file {path} cannot be read to its end: {exc}") from None


def _block_number(text: str) -> int:
    if not text.isdigit():
        raise CliError(f"block number {text!r} is not a whole number; blocks are numbered 0, 1, 2…")
    return int(text)


def _check_identity(args: argparse.Namespace) -> list[str]:
    """The channel, org and user against the connection profile, before any connection."""
    from gateway.profile import read_profile

    profile = read_profile(args.profile)
    orgs = profile.get("organizations", {})
    if args.org not in orgs:
        raise CliError(f"--org {args.org}: no such organization; orgs: {', '.join(sorted(orgs))}")
    users = orgs[args.org].get("users", {})
    if args.user not in users:
        raise CliError(
            f"--user {args.user}: {args.org} has no such user; users: {', '.join(sorted(users))}"
        )
    channels = profile.get("channels", {})
    if args.channel not in channels:
        raise CliError(
            f"channel {args.channel!r} is unknown; channels: {', '.join(sorted(channels))}"
        )
    return list(channels[args.channel].get("orgs", []))


def cmd_audit(args: argparse.Namespace) -> int:
    from gateway import GatewayError, verify_chain

    if args.what == "verify" and args.block_file:
        report = verify_chain(_blocks_from_file(Path(args.block_file)))
        return _print_report(report, args, source=args.block_file)
    number = _block_number(args.target) if args.what == "block" else 0
    if args.what == "tx" and not TX_ID.fullmatch(args.target):
        raise CliError(
            f"transaction id {args.target!r} is not 64 hex digits; `cbp audit block "
            f"{args.channel} N` lists the transactions of block N"
        )
    members = _check_identity(args)
    try:
        return _query(args, number)
    except GatewayError as exc:
        if "access denied" not in str(exc):
            raise
        raise CliError(
            f"{args.org} may not read {args.channel}: the channel refused its identity "
            f"(its Readers are the member orgs: {', '.join(members)})"
        ) from None


def _query(args: argparse.Namespace, number: int) -> int:
    from gateway import GatewayError, from_profile
    from gateway.ledger import decode_block

    with from_profile(args.org, args.user, args.profile) as gw:
        network = gw.get_network(args.channel)
        if args.what == "block":
            height = network.get_chain_info().height
            if number >= height:
                raise CliError(
                    f"block {number} is not on {args.channel}: its height is {height} "
                    f"(blocks 0 to {height - 1})"
                )
            block = decode_block(network.get_block(number))
            if args.json:
                doc = _jsonable(block)
                doc["transactions"] = [_transaction_json(t) for t in block.transactions]
                print(json.dumps(doc, indent=2, sort_keys=True))
            else:
                print_block(block)
        elif args.what == "tx":
            try:
                tx = network.get_transaction(args.target)
            except GatewayError as exc:
                if "no such transaction ID" in str(exc):
                    raise CliError(f"no transaction {args.target} on {args.channel}") from None
                raise
            if args.json:
                print(json.dumps(_transaction_json(tx), indent=2, sort_keys=True))
            else:
                print_transaction(tx)
        elif args.what == "history":
            contract = network.get_contract(args.chaincode)
            raw = contract.evaluate_transaction(args.function, args.target)
            history = json.loads(raw) if raw else []
            if args.json:
                print(json.dumps(history, indent=2, sort_keys=True))
            else:
                print_history(args.target, args.channel, history)
        else:
            report = network.audit_chain()
            return _print_report(report, args, source=f"channel {args.channel}")
    return 0


def _print_report(report: Any, args: argparse.Namespace, source: str) -> int:
    if args.json:
        print(
            json.dumps(
                {**_jsonable(report), "ok": report.ok, "bad_blocks": list(report.bad_blocks)},
                indent=2,
                sort_keys=True,
            )
        )
    elif report.blocks_checked == 0:
        print(f"FAILED: {source}: no blocks to verify")
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
    return 0 if report.ok and report.blocks_checked else 2


def add_audit_parser(sub: Any) -> None:
    audit = sub.add_parser(
        "audit",
        help="read and verify the ledger: key history, blocks, transactions, hash chain, "
        "measurement series",
        description="Audit a channel's ledger as one org's user (the channel's Readers policy "
        "decides who may). verify exits 2 when the chain does not verify; series exits 2 when the "
        "file is not the series anchored under that id, or a verification redone from it differs "
        "from the recorded one.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("channel", help="channel name, e.g. bsp1-channel")
    common.add_argument(
        "--org", default="tso", help="org of the identity to query as (default tso)"
    )
    common.add_argument("--user", default="User1", help="user of that org (default User1)")
    common.add_argument(
        "--profile", help="connection profile (default $CBP_HOME/connection-profile.json)"
    )
    common.add_argument("--json", action="store_true", help="JSON output")
    what = audit.add_subparsers(dest="what", required=True, metavar="WHAT")

    history = what.add_parser(
        "history",
        parents=[common],
        help="every version of a registry record: when, by whom, what changed",
        description="Every committed version of a record, oldest first, with its transaction "
        "time (the time stamp in its block), transaction id, who made it and what changed.",
    )
    history.add_argument("target", metavar="KEY", help="the record's id, e.g. a POD code")
    history.add_argument(
        "--chaincode", default="registry", help="chaincode for history (default registry)"
    )
    history.add_argument(
        "--function",
        default="GetPodHistory",
        help="the chaincode's history transaction (default GetPodHistory; GetUvamHistory for a "
        "UVAM)",
    )
    history.set_defaults(func=cmd_audit)

    block = what.add_parser(
        "block", parents=[common], help="one block: hashes and every transaction in it"
    )
    block.add_argument("target", metavar="NUMBER", help="block number (0 is the genesis block)")
    block.set_defaults(func=cmd_audit)

    tx = what.add_parser(
        "tx", parents=[common], help="one transaction: creator, call, endorsers, reads, writes"
    )
    tx.add_argument("target", metavar="TXID", help="transaction id (64 hex digits)")
    tx.set_defaults(func=cmd_audit)

    verify = what.add_parser(
        "verify",
        parents=[common],
        help="check every block's hash chain and orderer signatures (exit 2 when broken)",
    )
    verify.add_argument(
        "--block-file",
        help="verify a copy of a ledger's block file instead of asking a peer: a Fabric peer's "
        "or orderer's blockfile_NNNNNN (or its ledger folder), or the embedded engine's blocks.bin",
    )
    verify.set_defaults(func=cmd_audit, target="")

    series = what.add_parser(
        "series",
        parents=[common],
        help="check a measurement series file against its anchor; redo verifications from it "
        "(exit 2 on any difference)",
        description="Check a measurement series file (ESMP JSON, as a connector exports it) "
        "against the anchor the ledger holds under its id: SHA-256, size, interval, resolution "
        "and energy per 15-minute step. With --activation, redo that activation's verification "
        "from the file with the chaincode's arithmetic and compare it with the recorded one.",
    )
    series.add_argument(
        "target", metavar="SERIES_ID", help="the series' id, e.g. SER-MP-2026-04-15-UVAM-1"
    )
    series.add_argument("--file", required=True, help="the measurement series (ESMP JSON) to check")
    series.add_argument(
        "--activation",
        action="append",
        metavar="ID",
        help="redo this activation's verification from the file (repeatable)",
    )
    series.set_defaults(func=_series, chaincode="registry")


def _series(args: argparse.Namespace) -> int:
    from cbp.audit_series import cmd_series

    return cmd_series(args, _check_identity)


__all__ = ["add_audit_parser", "print_block", "print_history", "print_transaction"]
