"""Status sync: the chaincode's events, per channel, applied to the mirror exactly once.

Each event is applied in one database transaction together with the checkpoint that follows
it and a row naming it in `applied_events`: after a crash the listener resumes just after the
last event it applied, so none is missed and none applied twice, whether the connector or the
engine restarted. TSO and DSO decisions reach a BSP this way, never by polling; an operator's
confirmations reach the EV users' connector the same way.

The chaincode is the organisation's (`connector.feeds`). A registry event lists every change of
its transaction: a change made by one of this connector's own operations is filed from that
operation's result; any other is read from the ledger once, as this organisation may read it
(a DSO skips PODs of other grids, which it may not read). A chaincode whose events do not list
every record they change (the P2P market's) is read from each transaction's write set
(`sync_writesets.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from connector import webhooks
from connector.feeds import feed_of
from connector.ledger import Ledger, LedgerError, LedgerRefused
from connector.org import OrgContext, Role
from connector.runner import Runner
from connector.store import operations, resources
from connector.store.database import Database
from connector.store.tables import AppliedEvent, Checkpoint, Operation, now
from gateway.events import ChaincodeEvent
from hardening.logs import report_unexpected

log = logging.getLogger(__name__)

# the registry's entity names in events -> the mirror's kind and the query that reads one
READERS: dict[str, tuple[str, str]] = {
    "POD": ("pod", "ReadPod"),
    "FlexDevice": ("device", "ReadDevice"),
    "Attachment": ("attachment", "ReadAttachment"),
    "UVAM": ("uvam", "ReadUvam"),
    "Relation": ("relation", "ReadRelation"),
    "Connection": ("connection", "ReadConnection"),
    "Participant": ("participant", "ReadParticipant"),
    "MarketPeriod": ("marketperiod", "ReadMarketPeriod"),
    "Offer": ("offer", "ReadOffer"),
    "Activation": ("activation", "ReadActivation"),
    "MeterSeries": ("series", "ReadSeries"),
    "PodSeries": ("series", "ReadSeries"),
    "Statement": ("statement", "ReadStatement"),
}
# what a DSO's connector mirrors: its grid's PODs and their parts, and the market's periods,
# the activations of UVAMs with PODs in its grid and its own POD series (the ledger decides)
_DSO_READS = (
    "POD",
    "FlexDevice",
    "Attachment",
    "Participant",
    "MarketPeriod",
    "Activation",
    "PodSeries",
)

Published = Callable[[str, dict[str, Any] | Callable[[], dict[str, Any]]], None]
_BATCH = 500  # events applied in one transaction at most


@dataclass(frozen=True)
class Position:
    """A checkpoint as the gateway reads it: resume in `block_number` after `transaction_id`."""

    block_number: int | None
    transaction_id: str | None


class EventSync:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        org: OrgContext,
        runner: Runner,
        publish: Published,
        deliveries: webhooks.Deliveries,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._org = org
        self._runner = runner
        self._publish = publish
        self._deliveries = deliveries
        self._feed = feed_of(org.chaincode)
        self.state: dict[str, dict[str, Any]] = {ch: {"connected": False} for ch in org.channels}

    async def run(self, channel: str) -> None:
        """Follow `channel` forever, reconnecting with back-off when the ledger goes away.

        A reader task takes events off the stream as they come; this task applies whatever has
        arrived in one transaction at a time (a block's events usually arrive together)."""
        wait = 0.5
        while True:
            queue: asyncio.Queue[ChaincodeEvent | BaseException] = asyncio.Queue(maxsize=5000)
            reader = asyncio.create_task(self._read(channel, queue), name=f"read {channel}")
            try:
                while True:
                    batch = [await queue.get()]
                    while not queue.empty() and len(batch) < _BATCH:
                        batch.append(queue.get_nowait())
                    failure = next((b for b in batch if isinstance(b, BaseException)), None)
                    events = [b for b in batch if isinstance(b, ChaincodeEvent)]
                    if events:
                        await self.apply(channel, events)
                        wait = 0.5
                    if failure is not None:
                        raise failure
            except asyncio.CancelledError:
                raise
            except LedgerError as exc:
                log.info("events of %s: %s; reconnecting in %.1f s", channel, exc, wait)
            except Exception as exc:
                report_unexpected(log, exc, f"events of {channel}: unexpected error; reconnecting")
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            self.state[channel]["connected"] = False
            await asyncio.sleep(wait)
            wait = min(wait * 2, 10.0)

    async def _read(
        self, channel: str, queue: asyncio.Queue[ChaincodeEvent | BaseException]
    ) -> None:
        try:
            position = await self._position(channel)
            async for event in self._ledger.events("User1", channel, position):
                self.state[channel]["connected"] = True
                await queue.put(event)
            raise LedgerError(f"the event stream of {channel} ended")
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the applier, which reconnects
            await queue.put(exc)

    async def _position(self, channel: str) -> Position:
        async with self._db.reading() as session:
            mark = await session.get(Checkpoint, channel)
        if mark is None:
            return Position(0, None)
        return Position(mark.block_number, mark.tx_id)

    async def apply(self, channel: str, events: list[ChaincodeEvent]) -> None:
        """Apply events, in order, in one transaction with the checkpoint after the last."""
        async with self._db.reading() as session:
            ids = [e.transaction_id for e in events]
            own = {op.tx_id: op for op in await operations.by_txs(session, ids)}
            already = await applied_among(session, channel, ids)
        work = []
        for event in events:
            if event.transaction_id in already:
                continue  # applied before a restart; the checkpoint was already past it
            payload = _payload(event, channel)
            op = own.get(event.transaction_id)
            read = await self._records(channel, payload, op, event.transaction_id)
            changes = self._feed.changes(payload, read, event.transaction_id)
            work.append((event, payload, changes, op, read))

        applied: list[dict[str, Any]] = []  # rows of applied_events
        commits: list[tuple[Operation, int, dict[str, Any] | None]] = []
        records: list[tuple[dict[str, Any], int, str | None]] = []
        decisions: list[dict[str, Any]] = []
        for event, payload, _, op, read in work:
            block = event.block_number
            if op is not None and op.status not in operations.FINAL:
                commits.append((op, block, self._runner.result_for(event.transaction_id)))
            records += [(record, block, event.transaction_id) for record in read]
            applied.append(
                {
                    "channel": channel,
                    "tx_id": event.transaction_id,
                    "block_number": block,
                    "event_name": event.event_name,
                    "applied_at": now(),
                }
            )
            decision = self._decision_for_me(payload)
            if decision is not None:
                decisions.append(decision)
        # a handful of statements for the whole batch: the writer is held as briefly as can be
        async with self._db.session() as session:
            done = await self._runner.record_commits(session, commits)
            await resources.upsert_many(session, channel, records, self._feed.file)
            if applied:
                await session.execute(insert(cast(Table, AppliedEvent.__table__)), applied)
            for decision in decisions:
                self._deliveries.enqueue(session, "resource.changed", decision)
            last = events[-1]
            await self._advance(session, channel, last.block_number, last.transaction_id)
            await session.commit()
        self.state[channel].update(
            block=last.block_number, txId=last.transaction_id, at=now().isoformat()
        )
        for finished in done:
            await self._runner.announce(finished)
        for event, payload, changes, _, _ in work:
            for change in changes:
                if self._may_read(change):
                    self._publish(
                        "resource",
                        {
                            **change,
                            "channel": channel,
                            "block": event.block_number,
                            "actor": payload.get("actor") or change.get("actor"),
                        },
                    )

    async def _advance(self, session: Any, channel: str, block: int, tx_id: str) -> None:
        table = cast(Table, Checkpoint.__table__)
        changed = await session.execute(
            update(table)
            .where(table.c.channel == channel)
            .values(block_number=block, tx_id=tx_id, updated_at=now())
        )
        if changed.rowcount == 0:
            await session.execute(
                insert(table).values(
                    channel=channel, block_number=block, tx_id=tx_id, updated_at=now()
                )
            )

    async def _records(
        self, channel: str, payload: dict[str, Any], own: Operation | None, tx_id: str
    ) -> list[dict[str, Any]]:
        """The current record of every entity the event changed, as this org may read it,
        but for the one its own operation returned (filed with the operation)."""
        result = None
        if own is not None:
            # the runner may have finished it since it was read: its result is still at hand
            result = own.result or self._runner.result_for(own.tx_id, own.id)
        # that record is filed with its operation (record_commits), or was when it finished
        from_op = self._feed.file(result) if result else None
        changes = self._feed.changes(payload, [], tx_id)
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for change in changes:
            reader = READERS.get(str(change.get("entity")))
            entity_id = change.get("id")
            if reader is None or not isinstance(entity_id, str) or (reader[0], entity_id) in seen:
                continue
            seen.add((reader[0], entity_id))
            if from_op is not None and (from_op.kind, from_op.id) == (reader[0], entity_id):
                continue
            if not self._may_read(change):
                continue
            try:
                record = await self._ledger.evaluate("User1", channel, reader[1], entity_id)
            except LedgerRefused:
                continue  # not ours to read (another grid), or gone
            if isinstance(record, dict):
                out.append(record)
        return out

    def _may_read(self, change: dict[str, Any]) -> bool:
        me = self._org.me
        if me.role is Role.DSO:
            return change.get("entity") in _DSO_READS and change.get("dso") in (None, me.eic)
        if me.role is Role.BSP:
            return change.get("owner") in (None, me.eic)
        return True

    def _decision_for_me(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A change to this BSP's resource made by someone else (the TSO's or DSO's decision)."""
        me = self._org.me
        actor = payload.get("actor") or {}
        if me.role is not Role.BSP or actor.get("mspId") == me.msp_id:
            return None
        mine = [c for c in payload.get("changes", []) if c.get("owner") == me.eic]
        if not mine:
            return None
        return {"actor": actor, "changes": mine, "txId": payload.get("txId")}


def _payload(event: ChaincodeEvent, channel: str) -> dict[str, Any]:
    try:
        payload = json.loads(event.payload)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        log.warning(
            "event %s in block %d of %s is not a chaincode's JSON object; skipped",
            event.event_name,
            event.block_number,
            channel,
        )
        return {}
    return payload


async def applied_among(session: Any, channel: str, tx_ids: list[str]) -> set[str]:
    rows = await session.execute(
        select(AppliedEvent.tx_id).where(
            AppliedEvent.channel == channel, AppliedEvent.tx_id.in_(tx_ids)
        )
    )
    return {str(t) for (t,) in rows.all()}


async def applied_count(db: Database, channel: str) -> int:
    async with db.reading() as session:
        rows = await session.execute(
            select(AppliedEvent.tx_id).where(AppliedEvent.channel == channel)
        )
        return len(rows.all())
