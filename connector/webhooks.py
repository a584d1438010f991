"""Webhooks: completions posted to the organisation's URL, signed, retried with back-off.

The body is JSON; the header `X-CBP-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` signs
`<t>.<body>` with the webhook's secret (shown once, when the webhook is set), so a receiver can
check both origin and freshness. A delivery is stored in the same transaction as the change it
reports, so a crash never loses one; it is retried with doubling waits until it is answered
with a 2xx or its attempts run out.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connector.store.database import Database
from connector.store.tables import Webhook, WebhookDelivery, now
from hardening.logs import report_unexpected

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-CBP-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, tolerance: float = 300) -> bool:
    """What a receiver runs: the signature matches and is fresh."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


async def current(session: AsyncSession) -> Webhook | None:
    return (await session.execute(select(Webhook).limit(1))).scalar_one_or_none()


class Deliveries:
    """Deliveries to the organisation's webhook: queued with the changes they report, posted
    by a background loop."""

    def __init__(self, db: Database, attempts: int, wake: asyncio.Event) -> None:
        self._db = db
        self._attempts = attempts
        self._wake = wake
        self._client = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self._hook_id: int | None = None  # kept here: every operation's outcome asks for it

    async def load(self) -> None:
        async with self._db.reading() as session:
            hook = await current(session)
        self.hook_changed(hook)

    def hook_changed(self, hook: Webhook | None) -> None:
        self._hook_id = None if hook is None else hook.id

    def enqueue(
        self,
        session: AsyncSession,
        event: str,
        payload: dict[str, Any] | Callable[[], dict[str, Any]],
    ) -> None:
        """Record a delivery to the webhook, if one is set, in the caller's transaction
        (`payload` may be a function, called only then)."""
        if self._hook_id is None:
            return
        if callable(payload):
            payload = payload()
        body = json.dumps(
            {"event": event, "sentAt": now().isoformat(), "data": payload},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        session.add(
            WebhookDelivery(webhook_id=self._hook_id, event=event, body=body, status="pending")
        )
        self._wake.set()

    async def close(self) -> None:
        await self._client.aclose()

    async def run(self) -> None:
        while True:
            try:
                busy = await self._round()
            except Exception as exc:  # the loop must outlive a bad round; the next one retries
                report_unexpected(log, exc, "webhook delivery round failed")
                busy = False
            if not busy:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except TimeoutError:
                    pass

    async def _round(self) -> bool:
        async with self._db.reading() as session:
            due = (
                await session.execute(
                    select(WebhookDelivery, Webhook)
                    .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now(),
                    )
                    .order_by(WebhookDelivery.id)
                    .limit(20)
                )
            ).all()
        if not due:
            return False
        # posted with no database session open: a slow receiver holds up nothing else
        outcomes = await asyncio.gather(*(self._post(d, h) for d, h in due))
        async with self._db.session() as session:
            for (delivery, _), changes in zip(due, outcomes, strict=True):
                stored = await session.get(WebhookDelivery, delivery.id)
                if stored is not None:
                    for name, value in changes.items():
                        setattr(stored, name, value)
            await session.commit()
        return True

    async def _post(self, delivery: WebhookDelivery, hook: Webhook) -> dict[str, Any]:
        """Post one delivery; returns what to store of the attempt."""
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(hook.secret, body, int(time.time())),
            "X-CBP-Delivery": str(delivery.id),
            "X-CBP-Event": delivery.event,
        }
        attempts = delivery.attempts + 1
        try:
            response = await self._client.post(hook.url, content=body, headers=headers)
            ok, error = response.is_success, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
        if ok:
            return {
                "attempts": attempts,
                "status": "delivered",
                "delivered_at": now(),
                "last_error": None,
            }
        if attempts >= self._attempts:
            log.warning(
                "webhook delivery %d gave up after %d attempts: %s", delivery.id, attempts, error
            )
            return {"attempts": attempts, "status": "failed", "last_error": error}
        return {
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": now() + timedelta(seconds=min(2**attempts, 300)),
        }
