"""Status sync: the registry's chaincode events, per channel, applied to the mirror exactly once.

Each event is applied in one database transaction together with the checkpoint that follows
it and a row naming it in `applied_events`: after a crash the listener resumes just after the
last event it applied, so none is missed and none applied twice, whether the connector or the
engine restarted. TSO and DSO decisions reach a BSP this way, never by polling.

An event lists every change of its transaction. A change made by one of this connector's own
operations is filed from that operation's result; any other is read from the ledger once, as
this organisation may read it (a DSO skips PODs of other grids, which it may not read).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from connector import webhooks
from connector.ledger import Ledger, LedgerError, LedgerRefused
from connector.org import OrgContext, Role
from connector.runner import Runner
from connector.store import operations, resources
from connector.store.database import Database
from connector.store.tables import AppliedEvent, Checkpoint, Operation, now
from gateway.events import ChaincodeEvent

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
}

Published = Callable[[str, dict[str, Any]], None]


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
        wake_webhooks: Callable[[], None],
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._org = org
        self._runner = runner
        self._publish = publish
        self._wake_webhooks = wake_webhooks
        self.state: dict[str, dict[str, Any]] = {ch: {"connected": False} for ch in org.channels}

    async def run(
        self, channel: str, on_applied: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Follow `channel` forever, reconnecting with back-off when the ledger goes away."""
        wait = 0.5
        while True:
            try:
                position = await self._position(channel)
                async for event in self._ledger.events("User1", channel, position):
                    self.state[channel]["connected"] = True
                    wait = 0.5
                    await self.apply(channel, event)
                    if on_applied is not None:
                        await on_applied()
            except asyncio.CancelledError:
                raise
            except LedgerError as exc:
                log.info("events of %s: %s; reconnecting in %.1f s", channel, exc, wait)
            except Exception:
                log.exception("events of %s: unexpected error; reconnecting", channel)
            self.state[channel]["connected"] = False
            await asyncio.sleep(wait)
            wait = min(wait * 2, 10.0)

    async def _position(self, channel: str) -> Position:
        async with self._db.session() as session:
            mark = await session.get(Checkpoint, channel)
        if mark is None:
            return Position(0, None)
        return Position(mark.block_number, mark.tx_id)

    async def apply(self, channel: str, event: ChaincodeEvent) -> None:
        tx_id, block = event.transaction_id, event.block_number
        try:
            payload = json.loads(event.payload)
            changes = [c for c in payload.get("changes", []) if isinstance(c, dict)]
        except (ValueError, AttributeError):
            log.warning(
                "event %s in block %d of %s is not the registry's JSON; skipped",
                event.event_name,
                block,
                channel,
            )
            payload, changes = {}, []
        async with self._db.session() as session:
            own = await operations.by_tx(session, tx_id)
        records = await self._records(channel, changes, own)

        async with self._db.session() as session:
            if await session.get(AppliedEvent, (channel, tx_id)) is not None:
                return  # applied before a restart; the checkpoint was already past it
            done: Operation | None = None
            if own is not None:
                done = await self._runner.mark_committed(session, own.id, block, None)
            for record in records:
                await resources.upsert(session, channel, record, block)
            session.add(
                AppliedEvent(
                    channel=channel, tx_id=tx_id, block_number=block, event_name=event.event_name
                )
            )
            await self._advance(session, channel, block, tx_id)
            decision = self._decision_for_me(payload)
            if decision is not None:
                await webhooks.enqueue(session, "resource.changed", decision)
            await session.commit()
        self.state[channel].update(block=block, txId=tx_id, at=now().isoformat())
        if done is not None:
            await self._runner.announce(done)
        for change in changes:
            self._publish(
                "resource",
                {**change, "channel": channel, "block": block, "actor": payload.get("actor")},
            )
        if decision is not None:
            self._wake_webhooks()

    async def _advance(self, session: Any, channel: str, block: int, tx_id: str) -> None:
        mark = await session.get(Checkpoint, channel)
        if mark is None:
            session.add(Checkpoint(channel=channel, block_number=block, tx_id=tx_id))
        else:
            mark.block_number, mark.tx_id, mark.updated_at = block, tx_id, now()

    async def _records(
        self, channel: str, changes: list[dict[str, Any]], own: Operation | None
    ) -> list[dict[str, Any]]:
        """The current record of every entity the event changed, as this org may read it."""
        from_op = resources.row_of(own.result) if own is not None and own.result else None
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for change in changes:
            reader = READERS.get(str(change.get("entity")))
            entity_id = change.get("id")
            if reader is None or not isinstance(entity_id, str) or (reader[0], entity_id) in seen:
                continue
            seen.add((reader[0], entity_id))
            if from_op is not None and (from_op.kind, from_op.id) == (reader[0], entity_id):
                assert own is not None and own.result is not None
                out.append(own.result)
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
            return change.get("entity") in ("POD", "FlexDevice", "Attachment", "Participant") and (
                change.get("dso") in (None, me.eic)
            )
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


async def applied_count(db: Database, channel: str) -> int:
    async with db.session() as session:
        rows = await session.execute(
            select(AppliedEvent.tx_id).where(AppliedEvent.channel == channel)
        )
        return len(rows.all())
