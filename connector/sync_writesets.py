"""Event sync from each transaction's write set, instead of chaincode queries.

For an organisation that reads the ledger but may not query chaincode, the auditor: a Reader of
every channel and a Writer of none. Fabric runs every chaincode proposal, queries included,
through the channel's `peer/Propose` ACL (its Writers), so the auditor cannot ask the registry
for a record; it may read blocks and transactions (qscc, the Readers policy).

And for a chaincode whose events do not name every record they change (the P2P market: a
confirmation's event gives the count of its trades, not their ids): one read of the
transaction gives them all, as the ledger committed them.
"""

from __future__ import annotations

from typing import Any

from connector.feeds import records_written
from connector.ledger import translate
from connector.store.tables import Operation
from connector.sync import EventSync
from gateway import GatewayClientError


class WriteSetSync(EventSync):
    async def _records(
        self, channel: str, payload: dict[str, Any], own: Operation | None, tx_id: str
    ) -> list[dict[str, Any]]:
        gw = await self._ledger.gateway("User1")
        try:
            tx = await gw.get_network(channel).get_transaction(tx_id)
        except GatewayClientError as exc:
            raise translate(exc, f"transaction {tx_id} on {channel}") from exc
        return records_written(tx.writes, self._feed)
