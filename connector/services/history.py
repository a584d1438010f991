"""A resource's history read from the blocks themselves: every committed version with its
value, actor, time, transaction and block, and what changed between versions.

The walk starts from the transaction that wrote the version the mirror holds and follows the
ledger's own links backwards: a transaction of the registry or of the P2P market reads a record
before it rewrites it, and
its read set names the version it read as (block, transaction number), which is the previous
write of that key. So each step is one block read through qscc, as any Reader of the channel
may do (the auditor too, who may not query chaincode), and every version shown is a write in a
valid transaction of a block that the explorer shows and the verification checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.feeds import Feed
from connector.services.explorer import Explorer
from connector.store.tables import Resource

# stamped on every version of a registry record; shown as the version's actor and time, not
# as changes
_STAMPS = {"lastTxId", "updatedAt", "updatedBy"}
MAX_VERSIONS = 200


def ledger_key(feed: Feed, resource: Resource) -> str:
    """The composite key the resource's chaincode files it under."""
    attribute = resource.data.get("eic") if resource.kind == "participant" else resource.id
    return f"\x00{feed.object_types[resource.kind]}\x00{attribute}\x00"


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


@dataclass(frozen=True)
class Version:
    number: int  # 1 for the first version
    tx_id: str
    block: int
    tx_index: int
    timestamp: str
    actor: dict[str, Any] | None
    value: dict[str, Any] | None  # None: deleted
    function: str

    @property
    def status(self) -> str | None:
        return None if self.value is None else self.value.get("status")


@dataclass(frozen=True)
class Timeline:
    versions: tuple[Version, ...]  # oldest first
    complete: bool  # False: the walk stopped before the first version (said why in `note`)
    note: str | None = None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """Field by field, stamps left out; nested values compared as JSON."""
    a, b = before or {}, after or {}
    out = []
    for name in sorted((set(a) | set(b)) - _STAMPS):
        old, new = a.get(name), b.get(name)
        if old == new:
            continue
        out.append(
            Change(
                name,
                None if name not in a else _text(old),
                None if name not in b else _text(new),
            )
        )
    return out


async def timeline(
    explorer: Explorer, fabric_user: str, feed: Feed, resource: Resource
) -> Timeline:
    """Every committed version of `resource`, oldest first (see the module's doc)."""
    key = ledger_key(feed, resource)
    namespace = feed.chaincode
    channel = resource.channel
    found: list[tuple[int, int, Any]] = []  # (block, tx index, TransactionRecord)
    position: tuple[int, int] | None = None
    block = await explorer.block(fabric_user, channel, resource.block_number)
    for index, tx in enumerate(block.records):
        if tx.transaction_id == resource.last_tx_id:
            position = (resource.block_number, index)
            break
    note = None
    if position is None:
        note = (
            f"transaction {resource.last_tx_id} is not in block {resource.block_number}; "
            "the connector's copy is out of step with the ledger"
        )
    while position is not None and len(found) < MAX_VERSIONS:
        number, index = position
        view = await explorer.block(fabric_user, channel, number)
        if index >= len(view.records):
            note = f"block {number} has no transaction {index}"
            break
        tx = view.records[index]
        if not any(w.namespace == namespace and w.key == key for w in tx.writes):
            note = f"transaction {tx.transaction_id} in block {number} does not write this record"
            break
        found.append((number, index, tx))
        read = next((r for r in tx.reads if r.namespace == namespace and r.key == key), None)
        if read is None:
            note = (
                f"transaction {tx.transaction_id} wrote the record without reading it, so the "
                "versions before it are not linked from the ledger"
            )
            break
        position = read.version  # None: the key did not exist before, this is the first version
    versions = []
    for n, (number, index, tx) in enumerate(reversed(found), start=1):
        write = next(w for w in tx.writes if w.namespace == namespace and w.key == key)
        value = None if write.is_delete else json.loads(write.value)
        # a P2P market record carries no updatedBy: the transaction's creator made the change
        creator = {"mspId": tx.creator_msp} if tx.creator_msp else None
        versions.append(
            Version(
                number=n,
                tx_id=tx.transaction_id,
                block=number,
                tx_index=index,
                timestamp=(value or {}).get("updatedAt") or tx.timestamp.isoformat(),
                actor=(value or {}).get("updatedBy") or creator,
                value=value,
                function=tx.function,
            )
        )
    return Timeline(tuple(versions), complete=note is None, note=note)
