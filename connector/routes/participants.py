"""Participants: who is admitted on the registry's channels; the BNA admits new ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import responses
from connector.permissions import Action
from connector.routes.views import resource_out
from connector.schemas.common import OperationOut, ResourceOut
from connector.schemas.registry import ParticipantCreate
from connector.store import resources

router = APIRouter(prefix="/participants", tags=["Participants"])


@router.get("", response_model=list[ResourceOut], responses=responses(401))
async def list_participants(
    user: Reader, connector: ConnectorDep, session: SessionDep
) -> list[ResourceOut]:
    """Participants admitted on this organisation's channels, as the ledger holds them."""
    items, _, _ = await resources.page(session, resources.Filters(kind="participant"), 500, None)
    return [resource_out(r) for r in items]


@router.post(
    "", status_code=202, response_model=list[OperationOut], responses=responses(401, 403, 422)
)
async def admit_participant(
    body: ParticipantCreate,
    user: Annotated[Principal, Depends(requires(Action.admit))],
    connector: ConnectorDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> list[OperationOut]:
    """Admit a participant on every BSP channel (the BNA, the TSO's admin, only): one
    operation per channel."""
    out = []
    for channel in connector.org.channels:
        key = f"{idempotency_key}:{channel}" if idempotency_key else None
        op = await connector.acceptor.accept(
            user.caller, connector.registry.admit(body, channel), key
        )
        out.append(connector.runner.present(op))
    return out
