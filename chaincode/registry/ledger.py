"""The registry's view of one transaction: the stub subset it uses, keys, JSON, events.

Domain modules take a ``Tx`` and never the runtime's ``Context``, so they run the same under
the chaincode runtime and under the unit tests' in-memory stub. ``Stub`` names exactly the
part of ``chaincode.runtime``'s ChaincodeStub the registry relies on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chaincode.runtime.canonical import dumps, iso
from chaincode.runtime.stub_protocol import PrivateDataStub as Stub

from .errors import InvalidArgument

# Object types of the composite keys. Entities are keyed by id; "~" types are indexes whose
# value is a single NUL byte (an empty value would be a delete in Fabric).
PARTICIPANT = "Participant"
PARTICIPANT_BY_MSP = "Participant~msp"
BNA = "BNA"
POD = "POD"
POD_BY_OWNER = "POD~owner"
POD_BY_STATUS = "POD~status"
POD_BY_DSO = "POD~dso"
DEVICE = "Device"
DEVICE_BY_POD = "Device~pod"
ATTACHMENT = "Attachment"
UVAM = "UVAM"
UVAM_BY_OWNER = "UVAM~owner"
UVAM_BY_STATUS = "UVAM~status"
RELATION = "Relation"
RELATION_BY_UVAM = "Relation~uvam"
RELATION_BY_RESOURCE = "Relation~resource"
CONNECTION = "Connection"
MARKET_PERIOD = "MarketPeriod"
OFFER = "Offer"
OFFER_BY_STATUS = "Offer~status"
OFFER_BY_PERIOD = "Offer~period"  # period, offer
OFFER_SLOT = "Offer~slot"  # period, UVAM, direction -> the live offer's id (one per slot)
ACTIVATION = "Activation"
ACTIVATION_BY_STATUS = "Activation~status"
ACTIVATION_BY_PERIOD = "Activation~period"  # period, activation
ACTIVATION_BY_OFFER = "Activation~offer"  # offer, activation
SERIES = "Series"
SERIES_BY_UVAM = "Series~uvam"  # period, UVAM, scope, series
STATEMENT = "Statement"
STATEMENT_BY_PERIOD = "Statement~period"  # period, statement

# The private data collection of offer prices and settlement statements (TSO and the channel's
# BSP only; see network/topology.yaml) and its keys.
SETTLEMENT_COLLECTION = "settlement"
OFFER_PRICE = "OfferPrice"
STATEMENT_DETAIL = "StatementDetail"

INDEX_VALUE = b"\x00"
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Caller:
    """Who signed the proposal, as the certificate says (before admission is checked)."""

    msp_id: str
    client_id: str
    role_attr: str | None = None
    eic_attr: str | None = None
    is_admin: bool = False


@dataclass(frozen=True)
class Actor:
    """A caller resolved to an admitted participant."""

    msp_id: str
    eic: str
    role: str
    name: str
    client_id: str

    def as_json(self) -> dict[str, str]:
        return {"eic": self.eic, "id": self.client_id, "mspId": self.msp_id, "role": self.role}


@dataclass
class Tx:
    """One registry transaction: its stub, caller, time, and the changes it announces."""

    stub: Stub
    caller: Caller
    actor: Actor | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tx_id = self.stub.get_tx_id()
        self.time = self.stub.get_tx_timestamp()
        self.timestamp = iso(self.time)
        # Committed values read so far, by key. Reads see committed state only (Fabric's
        # rule), so a key read twice reads the same; a key this tx writes is forgotten, so a
        # later read asks the stub again, whatever it answers.
        self._reads: dict[str, bytes] = {}
        self._keys: dict[tuple[str, ...], str] = {}

    # --- keys and records -------------------------------------------------------------------

    def key(self, object_type: str, *attributes: str) -> str:
        parts = (object_type, *attributes)
        key = self._keys.get(parts)
        if key is None:  # a transaction names most keys twice: to read or prefetch, then write
            key = self._keys[parts] = self.stub.create_composite_key(object_type, list(attributes))
        return key

    def prefetch(self, *wanted: tuple[str, ...]) -> None:
        """Read these (object type, *attributes) keys in one request, for later ``get``s.

        Only for keys the transaction is about to read anyway: a prefetched key joins the
        read set even if a refusal comes first (a refused proposal is never committed).
        """
        keys = [self.key(*parts) for parts in wanted]
        keys = [k for k in dict.fromkeys(keys) if k not in self._reads]
        if keys:
            self._reads.update(zip(keys, self.stub.get_multiple_states(keys), strict=True))

    def get(self, object_type: str, *attributes: str) -> dict[str, Any] | None:
        key = self.key(object_type, *attributes)
        raw = self._reads.get(key)
        if raw is None:
            raw = self._reads[key] = self.stub.get_state(key)
        if not raw:
            return None
        record: dict[str, Any] = json.loads(raw)
        return record

    def put(self, object_type: str, attributes: Iterable[str], record: dict[str, Any]) -> None:
        self._write(self.key(object_type, *attributes), dumps(record))

    def put_index(self, object_type: str, *attributes: str) -> None:
        self._write(self.key(object_type, *attributes), INDEX_VALUE)

    def del_index(self, object_type: str, *attributes: str) -> None:
        key = self.key(object_type, *attributes)
        self._reads.pop(key, None)
        self.stub.del_state(key)

    def _write(self, key: str, value: bytes) -> None:
        self._reads.pop(key, None)
        self.stub.put_state(key, value)

    def get_private(self, object_type: str, *attributes: str) -> dict[str, Any] | None:
        """A record of the settlement collection (the peer refuses non-members)."""
        raw = self.stub.get_private_data(SETTLEMENT_COLLECTION, self.key(object_type, *attributes))
        if not raw:
            return None
        record: dict[str, Any] = json.loads(raw)
        return record

    def put_private(
        self, object_type: str, attributes: Iterable[str], record: dict[str, Any]
    ) -> None:
        """Write to the settlement collection: the block carries only the value's hash."""
        key = self.key(object_type, *attributes)
        self.stub.put_private_data(SETTLEMENT_COLLECTION, key, dumps(record))

    def transient(self, name: str) -> bytes | None:
        """A transient field of the proposal (never written to a block), or None."""
        return self.stub.get_transient().get(name)

    def stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        """Mark a record with this transaction: its id, time and actor (history shows them)."""
        record["lastTxId"] = self.tx_id
        record["updatedAt"] = self.timestamp
        record["updatedBy"] = self.require_actor().as_json()
        return record

    def derived_id(self, prefix: str) -> str:
        """An id no other transaction can produce: ids come from the tx, never randomness."""
        return f"{prefix}-{self.tx_id[:24]}"

    def require_actor(self) -> Actor:
        if self.actor is None:  # a programming error: every write path resolves the caller
            raise RuntimeError("registry transaction used before its caller was resolved")
        return self.actor

    # --- events -----------------------------------------------------------------------------

    def record_change(
        self,
        event: str,
        entity: str,
        entity_id: str,
        old: str | None,
        new: str | None,
        **extra: Any,
    ) -> None:
        change: dict[str, Any] = {
            "entity": entity,
            "event": event,
            "from": old,
            "id": entity_id,
            "to": new,
        }
        change.update({k: v for k, v in extra.items() if v is not None})
        self.changes.append(change)

    def emit(self) -> None:
        """Set the transaction's one chaincode event (Fabric keeps only the last set_event).

        Its name is the last change's event, which is the most consequential one (an attachment
        created, then the POD it completed opened); the payload lists every change in order.
        """
        if not self.changes:
            return
        last = self.changes[-1]
        payload = {
            "actor": self.require_actor().as_json(),
            "changes": self.changes,
            "entity": last["entity"],
            "from": last["from"],
            "id": last["id"],
            "timestamp": self.timestamp,
            "to": last["to"],
            "txId": self.tx_id,
        }
        self.stub.set_event(last["event"], dumps(payload))

    # --- queries ----------------------------------------------------------------------------

    def index_ids(self, object_type: str, *attributes: str) -> Iterator[str]:
        """The last attribute of every index key under ``attributes`` (the entity ids)."""
        for kv in self.stub.get_state_by_partial_composite_key(object_type, list(attributes)):
            _, attrs = self.stub.split_composite_key(kv.key)
            yield attrs[-1]

    def index_page(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str
    ) -> tuple[list[str], str, int]:
        check_page_size(page_size)
        kvs, meta = self.stub.get_state_by_partial_composite_key_with_pagination(
            object_type, attributes, page_size, bookmark
        )
        ids = [self.stub.split_composite_key(kv.key)[1][-1] for kv in kvs]
        return ids, meta.bookmark, meta.fetched_records_count

    def history(self, object_type: str, *attributes: str) -> list[dict[str, Any]]:
        """Every committed version of the record, oldest first, with its tx, time and actor.

        Fabric's history query yields newest first; an audit reads better in order of events.
        """
        entries = []
        for mod in self.stub.get_history_for_key(self.key(object_type, *attributes)):
            value = json.loads(mod.value) if mod.value and not mod.is_delete else None
            entries.append(
                {
                    "actor": value.get("updatedBy") if value else None,
                    "isDelete": bool(mod.is_delete),
                    "timestamp": iso(mod.timestamp),
                    "txId": mod.tx_id,
                    "value": value,
                }
            )
        entries.reverse()
        return entries


def check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"pageSize {page_size} must be between 1 and {MAX_PAGE_SIZE}")


def page_result(records: list[dict[str, Any]], bookmark: str, fetched: int) -> dict[str, Any]:
    return {"bookmark": bookmark, "fetchedCount": fetched, "records": records}
