"""What the connector knows of each chaincode it follows: how the mirror files its records, how
its events say what changed, and where the records of a change are read.

    registry   each event lists its changes (entity, id, from, to, owner, dso); the
               organisation reads every changed record with the registry's query, as it may
               read it (a DSO only its grid's PODs)
    trading    an event names a trade, an EV, a batch or the parameters, but a confirmation
               writes up to 500 trades and its event carries only their count: every record a
               transaction wrote is taken from its write set (the values the ledger committed,
               one read per transaction whatever its size), which every member may read

One connector follows one chaincode, its role's (`OrgContext.chaincode`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.org import REGISTRY, TRADING
from connector.store import resources
from connector.store.resources import Row

Record = dict[str, Any]
Changes = Callable[[Record, list[Record], str], list[Record]]


@dataclass(frozen=True)
class Feed:
    chaincode: str
    file: resources.Filing  # a record of this chaincode -> its row in the mirror (None: not one)
    object_types: dict[str, str]  # mirror kind -> the object type of its composite ledger key
    changes: Changes  # (event payload, records read, tx id) -> what live pages are told
    from_write_sets: bool  # records from each transaction's write set, not from queries


# -- the registry -------------------------------------------------------------------------------


def _registry_changes(payload: Record, records: list[Record], tx_id: str) -> list[Record]:
    return [c for c in payload.get("changes", []) if isinstance(c, dict)]


# -- the P2P market -----------------------------------------------------------------------------

# what live pages call each kind (the chaincode's names)
TRADING_ENTITIES = {"trade": "Trade", "ev": "EV", "batch": "Batch", "marketparams": "Parameters"}
# the stamp that says a record reached its status (or was declared) in a given transaction
_STAMP_OF_STATUS = {"Pending": "submitted", "Confirmed": "confirmed", "Rejected": "rejected"}


def trading_row(record: Record) -> Row | None:
    """How the mirror files a P2P market record, told apart by the fields only it has (the
    chaincode's records carry no type field): a trade under its batch (none while pending),
    an EV under its owner with its role as status, a batch, a version of the parameters."""
    if "tradeId" in record and "buyerId" in record:
        return Row(
            kind="trade",
            id=str(record["tradeId"]),
            owner_eic=None,
            dso_eic=None,
            parent_id=record.get("batchId"),
            status=record.get("status"),
            name=f"{record['buyerId']} → {record.get('sellerId')}",
        )
    if "evId" in record and "batteryCapacityKwh" in record:
        return Row(
            "ev", str(record["evId"]), None, None, record.get("owner"), record.get("role"), None
        )
    if "batchId" in record and "tradeIds" in record:
        return Row("batch", str(record["batchId"]), None, None, None, "Confirmed", None)
    if "buyThresholdPct" in record and "version" in record:
        return Row("marketparams", f"{int(record['version']):06d}", None, None, None, None, None)
    return None


def _stamp(row: Row, record: Record) -> Any:
    if row.kind == "trade":
        return record.get(_STAMP_OF_STATUS.get(str(row.status), ""))
    return record.get({"ev": "declared", "batch": "confirmed", "marketparams": "set"}[row.kind])


def _trading_changes(payload: Record, records: list[Record], tx_id: str) -> list[Record]:
    """One change per record the transaction wrote; `to` when the record reached its status
    (an EV: its role) in this very transaction, with who did it."""
    out = []
    for record in records:
        row = trading_row(record)
        if row is None:
            continue
        change: Record = {"entity": TRADING_ENTITIES[row.kind], "id": row.id}
        stamp = _stamp(row, record)
        if isinstance(stamp, dict) and stamp.get("txId") == tx_id:
            if row.status is not None:
                change["to"] = row.status
            change["actor"] = stamp.get("by")
        out.append(change)
    return out


REGISTRY_FEED = Feed(
    chaincode=REGISTRY,
    file=resources.row_of,
    object_types={
        "pod": "POD",
        "device": "Device",
        "attachment": "Attachment",
        "uvam": "UVAM",
        "relation": "Relation",
        "connection": "Connection",
        "participant": "Participant",
    },
    changes=_registry_changes,
    from_write_sets=False,
)

TRADING_FEED = Feed(
    chaincode=TRADING,
    file=trading_row,
    object_types={"trade": "Trade", "ev": "EV", "batch": "Batch"},
    changes=_trading_changes,
    from_write_sets=True,
)

FEEDS = {f.chaincode: f for f in (REGISTRY_FEED, TRADING_FEED)}


def feed_of(chaincode: str) -> Feed:
    return FEEDS[chaincode]


def records_written(writes: Any, feed: Feed) -> list[Record]:
    """The records among a transaction's writes to `feed`'s chaincode, each once: index
    entries, deletes and copies under an index type (`Params~version`) left out."""
    out: dict[tuple[str, str], Record] = {}
    for write in writes:
        if write.namespace != feed.chaincode or write.is_delete:
            continue
        object_type = write.key.split("\x00")[1] if write.key.startswith("\x00") else ""
        if "~" in object_type or not write.value.startswith(b"{"):
            continue
        try:
            record = json.loads(write.value)
        except ValueError:
            continue
        row = feed.file(record) if isinstance(record, dict) else None
        if row is not None:
            out[(row.kind, row.id)] = record
    return list(out.values())
