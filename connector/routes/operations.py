"""Operations: where each accepted write stands (accepted, submitted, committed, failed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from connector.deps import ConnectorDep, Reader, SessionDep
from connector.errors import InvalidInput, NotFound, responses
from connector.schemas.common import OperationOut, OperationStatus, Page
from connector.store import operations

router = APIRouter(prefix="/operations", tags=["Operations"])


@router.get("", response_model=Page[OperationOut], responses=responses(401, 422))
async def list_operations(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    status: OperationStatus | None = None,
    mine: bool = False,
    load: Annotated[str | None, Query(max_length=32, description="a mass load's id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[OperationOut]:
    """The organisation's operations, newest first."""
    try:
        items, total, nxt = await operations.page(
            session,
            limit,
            cursor,
            status.value if status else None,
            user.username if mine else None,
            load,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return Page(items=[connector.runner.present(o) for o in items], total=total, nextCursor=nxt)


@router.get("/{operation_id}", response_model=OperationOut, responses=responses(401, 404))
async def get_operation(
    operation_id: str, user: Reader, connector: ConnectorDep, session: SessionDep
) -> OperationOut:
    op = await operations.get(session, operation_id)
    if op is None:
        raise NotFound(f"operation {operation_id} is not known to this connector")
    return connector.runner.present(op)
