"""Event sync for an organisation that reads the ledger but may not query chaincode: the auditor.

An auditor is a Reader of every channel and a Writer of none. Fabric runs every chaincode
proposal, queries included, through the channel's `peer/Propose` ACL (its Writers), so the
auditor cannot ask the registry for a record; it may read blocks and transactions (qscc, the
Readers policy). Each event's records are therefore taken from its transaction's write set,
the values the ledger committed, instead of from a registry query.
"""

from __future__ import annotations

import json
from typing import Any

from connector.ledger import translate
from connector.org import REGISTRY
from connector.store.tables import Operation
from connector.sync import EventSync
from gateway import GatewayClientError


class WriteSetSync(EventSync):
    async def _records(
        self, channel: str, changes: list[dict[str, Any]], own: Operation | None, tx_id: str
    ) -> list[dict[str, Any]]:
        gw = await self._ledger.gateway("User1")
        try:
            tx = await gw.get_network(channel).get_transaction(tx_id)
        except GatewayClientError as exc:
            raise translate(exc, f"transaction {tx_id} on {channel}") from exc
        return records_written(tx.writes)


def records_written(writes: Any) -> list[dict[str, Any]]:
    """The registry records among a transaction's writes (index entries and deletes left out)."""
    out: list[dict[str, Any]] = []
    for write in writes:
        if write.namespace != REGISTRY or write.is_delete or not write.value.startswith(b"{"):
            continue
        try:
            record = json.loads(write.value)
        except ValueError:
            continue
        if isinstance(record, dict) and "docType" in record:
            out.append(record)
    return out
