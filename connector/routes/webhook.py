"""The organisation's webhook: where completions and decisions are posted, signed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import AnyHttpUrl, BaseModel
from sqlalchemy import func, select

from connector import webhooks
from connector.deps import (
    ConnectorDep,
    Principal,
    Reader,
    SessionDep,
    requires,
)
from connector.errors import NotFound, responses
from connector.permissions import Action
from connector.store.tables import Webhook, WebhookDelivery, as_utc

router = APIRouter(prefix="/webhook", tags=["Webhook"])
Manager = Annotated[Principal, Depends(requires(Action.webhook))]


class WebhookIn(BaseModel):
    url: AnyHttpUrl


class WebhookOut(BaseModel):
    url: str
    createdBy: str
    createdAt: datetime
    deliveries: dict[str, int] = {}
    secret: str | None = None  # shown only when set
    signatureHeader: str = webhooks.SIGNATURE_HEADER


@router.get("", response_model=WebhookOut, responses=responses(401, 404))
async def get_webhook(user: Reader, session: SessionDep) -> WebhookOut:
    hook = await webhooks.current(session)
    if hook is None:
        raise NotFound("no webhook is set; PUT /webhook with a url sets one")
    rows = await session.execute(
        select(WebhookDelivery.status, func.count(WebhookDelivery.id)).group_by(
            WebhookDelivery.status
        )
    )
    return WebhookOut(
        url=hook.url,
        createdBy=hook.created_by,
        createdAt=as_utc(hook.created_at),
        deliveries={str(s): int(n) for s, n in rows.all()},
    )


@router.put("", response_model=WebhookOut, responses=responses(401, 403, 422))
async def set_webhook(body: WebhookIn, user: Manager, connector: ConnectorDep) -> WebhookOut:
    """Set (or replace) the webhook. The answer shows its signing secret, once: keep it."""
    async with connector.db.session() as session:
        old = await webhooks.current(session)
        if old is not None:
            await session.delete(old)
            await session.flush()
        hook = Webhook(url=str(body.url), secret=webhooks.new_secret(), created_by=user.username)
        session.add(hook)
        await session.commit()
    connector.deliveries.hook_changed(hook)
    return WebhookOut(
        url=hook.url,
        createdBy=hook.created_by,
        createdAt=as_utc(hook.created_at),
        secret=hook.secret,
    )


@router.delete("", status_code=204, response_class=Response, responses=responses(401, 403, 404))
async def delete_webhook(user: Manager, connector: ConnectorDep) -> Response:
    async with connector.db.session() as session:
        hook = await webhooks.current(session)
        if hook is None:
            raise NotFound("no webhook is set")
        await session.delete(hook)
        await session.commit()
    connector.deliveries.hook_changed(None)
    return Response(status_code=204)
