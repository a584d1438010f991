"""Plain-text rendering of ledger records and audit reports (the printing layer for `cbp`)."""

from __future__ import annotations

from gateway.audit import ChainReport
from gateway.ledger import BlockRecord, TransactionRecord


def format_chain_report(report: ChainReport) -> str:
    if report.blocks_checked == 0:
        return "no blocks to verify"
    span = f"blocks {report.first_block}..{report.last_block} ({report.blocks_checked})"
    if report.ok:
        return (
            f"chain OK: {span}; data hashes, header links and "
            f"{report.signatures_checked} orderer signature(s) verified"
        )
    lines = [f"chain BROKEN: {span}; {len(report.findings)} finding(s):"]
    lines += [f"  {f}" for f in report.findings]
    return "\n".join(lines)


def format_transaction(tx: TransactionRecord) -> str:
    lines = [
        f"transaction {tx.transaction_id}",
        f"  channel   {tx.channel}   type {tx.type}   block {tx.block_number}",
        f"  time      {tx.timestamp.isoformat()}",
        f"  creator   {tx.creator_msp}  {tx.creator_subject}",
    ]
    if tx.chaincode:
        args = ", ".join(a.decode(errors="replace") for a in tx.args)
        lines.append(f"  call      {tx.chaincode} {tx.function}({args})")
        lines.append(f"  endorsers {', '.join(tx.endorsers) or '-'}")
    if tx.validation is not None:
        lines.append(f"  status    {tx.validation} ({tx.validation_code})")
    lines += [f"  read      {r.namespace}/{r.key} @ {r.version}" for r in tx.reads]
    for w in tx.writes:
        what = "delete" if w.is_delete else f"{len(w.value)} bytes"
        lines.append(f"  write     {w.namespace}/{w.key} ({what})")
    lines += [f"  private   {c} (hashes only)" for c in tx.private_collections]
    lines += [f"  event     {e}" for e in tx.events]
    return "\n".join(lines)


def format_block(block: BlockRecord) -> str:
    head = (
        f"block {block.number}  hash {block.header_hash.hex()[:16]}…  "
        f"prev {block.previous_hash.hex()[:16]}…  {len(block.transactions)} tx"
    )
    return "\n".join([head, *(format_transaction(t) for t in block.transactions)])
