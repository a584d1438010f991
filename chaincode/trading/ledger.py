"""The trading chaincode's view of one transaction: stub subset, keys, caller, JSON, events.

Domain modules take a ``Tx`` and never the runtime's ``Context``, so they run the same under
the chaincode runtime and under the unit tests' in-memory stub.

Keys (composite, Fabric's NUL layout); "~" types are indexes whose value is one NUL byte:

    Params                      the market parameters in force
    Params~version  <v:06d>     every version ever set
    EV              <evId>      an EV's declaration and what it has left to trade
    Trade           <tradeId>   a trade
    Trade~status    <status> <tradeId>
    Trade~ev        <evId> <tradeId>          for the buyer and for the seller
    Batch           <batchId>   a confirmation batch: its trades and totals
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chaincode.runtime.canonical import dumps, iso
from chaincode.runtime.stub_protocol import StateStub as Stub

from .errors import InvalidArgument

PARAMS = "Params"
PARAMS_BY_VERSION = "Params~version"
EV = "EV"
TRADE = "Trade"
TRADE_BY_STATUS = "Trade~status"
TRADE_BY_EV = "Trade~ev"
BATCH = "Batch"

INDEX_VALUE = b"\x00"
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Caller:
    """Who signed the proposal: MSP id, Fabric's unique id, and the enrollment id that names
    an EV user (the certificate's ``hf.EnrollmentID``, else the unique id)."""

    msp_id: str
    client_id: str
    enrollment_id: str

    def as_json(self) -> dict[str, str]:
        return {"enrollmentId": self.enrollment_id, "id": self.client_id, "mspId": self.msp_id}


@dataclass(frozen=True)
class Parties:
    """Which organisation plays which part on this channel (MSP ids)."""

    operator_msp_id: str  # the charging infrastructure operator: parameters, confirmations
    ev_users_msp_id: str  # the EV users: declare their EVs, submit trades as buyers


class Tx:
    """One trading transaction: its stub, caller and time, its reads, its one event."""

    def __init__(self, stub: Stub, caller: Caller, parties: Parties) -> None:
        self.stub = stub
        self.caller = caller
        self.parties = parties
        self.tx_id = stub.get_tx_id()
        self.timestamp = iso(stub.get_tx_timestamp())
        # Committed values read so far. Reads see committed state only (Fabric's rule), so a
        # key read twice reads the same; a key this tx writes is forgotten.
        self._reads: dict[str, bytes] = {}
        self._event: tuple[str, dict[str, Any]] | None = None

    def key(self, object_type: str, *attributes: str) -> str:
        return self.stub.create_composite_key(object_type, list(attributes))

    def prefetch(self, *wanted: tuple[str, ...]) -> None:
        """Read these (object type, *attributes) keys in one request (GET_STATE_MULTIPLE), for
        later ``get``s. Only for keys the transaction reads anyway: a prefetched key joins the
        read set even if a refusal comes first (a refused proposal is never committed)."""
        keys = [k for k in dict.fromkeys(self.key(*parts) for parts in wanted)]
        keys = [k for k in keys if k not in self._reads]
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
        key = self.key(object_type, *attributes)
        self._reads.pop(key, None)
        self.stub.put_state(key, dumps(record))

    def put_index(self, object_type: str, *attributes: str) -> None:
        self.stub.put_state(self.key(object_type, *attributes), INDEX_VALUE)

    def del_index(self, object_type: str, *attributes: str) -> None:
        self.stub.del_state(self.key(object_type, *attributes))

    def derived_id(self, prefix: str) -> str:
        """An id no other transaction can produce: ids come from the tx, never randomness."""
        return f"{prefix}-{self.tx_id[:24]}"

    def stamp(self) -> dict[str, Any]:
        """Who did it and when, as every record written records it."""
        return {"by": self.caller.as_json(), "at": self.timestamp, "txId": self.tx_id}

    def event(self, name: str, payload: dict[str, Any]) -> None:
        """The transaction's one chaincode event (Fabric keeps only the last one set)."""
        self._event = (name, payload)

    def emit(self) -> None:
        if self._event is not None:
            name, payload = self._event
            self.stub.set_event(name, dumps({**payload, "txId": self.tx_id}))

    # --- queries ----------------------------------------------------------------------------

    def index_ids(self, object_type: str, *attributes: str) -> Iterator[str]:
        """The last attribute of every index key under ``attributes``."""
        for kv in self.stub.get_state_by_partial_composite_key(object_type, list(attributes)):
            yield self.stub.split_composite_key(kv.key)[1][-1]

    def index_page(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str
    ) -> tuple[list[str], str, int]:
        check_page_size(page_size)
        kvs, meta = self.stub.get_state_by_partial_composite_key_with_pagination(
            object_type, attributes, page_size, bookmark
        )
        ids = [self.stub.split_composite_key(kv.key)[1][-1] for kv in kvs]
        return ids, meta.bookmark, meta.fetched_records_count

    def record_page(self, object_type: str, page_size: int, bookmark: str) -> dict[str, Any]:
        """One page of every record of this type, in key order."""
        check_page_size(page_size)
        kvs, meta = self.stub.get_state_by_partial_composite_key_with_pagination(
            object_type, [], page_size, bookmark
        )
        records = [json.loads(kv.value) for kv in kvs]
        return page_result(records, meta.bookmark, meta.fetched_records_count)

    def records(self, object_type: str, ids: list[str]) -> list[dict[str, Any]]:
        """The records of these ids, fetched in one request, in the same order."""
        self.prefetch(*((object_type, i) for i in ids))
        out = []
        for i in ids:
            record = self.get(object_type, i)
            if record is not None:
                out.append(record)
        return out

    def history(self, object_type: str, *attributes: str) -> list[dict[str, Any]]:
        """Every committed version, oldest first (Fabric yields newest first)."""
        entries = []
        for mod in self.stub.get_history_for_key(self.key(object_type, *attributes)):
            value = json.loads(mod.value) if mod.value and not mod.is_delete else None
            entries.append(
                {
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
