"""The market's activation phase: set points (the TSO), acknowledgements (the BSP), and the
TSO's verification against the anchored measurements."""

from __future__ import annotations

from fastapi import APIRouter, Response

from connector.deps import ConnectorDep, Reader, SessionDep
from connector.errors import responses
from connector.routes.common import WRITE_RESPONSES, answer
from connector.routes.market_common import (
    Bidder,
    Channel,
    Cursor,
    Dispatcher,
    IdemKey,
    Limit,
    Period,
    Prefer,
    listed,
)
from connector.routes.views import one, resource_out
from connector.schemas import market as s
from connector.schemas.common import OperationOut, Page, ResourceOut

router = APIRouter(prefix="/market/activations", tags=["Market: activation and verification"])
READ = responses(401, 403, 404, 409)


@router.get("", response_model=Page[ResourceOut], responses=responses(401, 422))
async def list_activations(
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    period: Period = None,
    status: str | None = None,
    channel: Channel = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResourceOut]:
    """Activations this organisation may see: a BSP's own, the TSO's all, a DSO's those of
    UVAMs with PODs in its grid; newest first. Each verified one holds its verification."""
    return await listed(
        session,
        connector.org,
        "activation",
        channel=channel,
        period=period,
        status=status,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{activation_id}", response_model=ResourceOut, responses=READ)
async def get_activation(
    activation_id: str,
    user: Reader,
    connector: ConnectorDep,
    session: SessionDep,
    channel: Channel = None,
) -> ResourceOut:
    return resource_out(await one(session, connector.org, "activation", activation_id, channel))


@router.post("", status_code=202, response_model=OperationOut, responses=WRITE_RESPONSES)
async def send_activation(
    body: s.ActivationCreate,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Send Activation (the TSO): a set point against an accepted offer, at most 15 minutes
    ahead, within what the offer has left."""
    offer = await connector.registry.locate(session, "offer", body.offerId, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.send_activation(offer, body), idempotency_key
    )
    return await answer(connector, op, response, prefer)


@router.patch(
    "/{activation_id}/status",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def acknowledge(
    activation_id: str,
    body: s.ActivationStatusChange,
    user: Bidder,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Acknowledge an activation (the BSP), before it ends."""
    activation = await connector.registry.locate(session, "activation", activation_id, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.acknowledge(activation), idempotency_key
    )
    return await answer(connector, op, response, prefer)


@router.post(
    "/{activation_id}/verification",
    status_code=202,
    response_model=OperationOut,
    responses=WRITE_RESPONSES,
)
async def verify(
    activation_id: str,
    user: Dispatcher,
    connector: ConnectorDep,
    session: SessionDep,
    response: Response,
    prefer: Prefer = None,
    idempotency_key: IdemKey = None,
    channel: Channel = None,
) -> OperationOut:
    """Verify an activation (the TSO), once ended and measured: the chaincode computes the
    baseline, the delivered energy and the ratio from the anchored series, and records them."""
    activation = await connector.registry.locate(session, "activation", activation_id, channel)
    op = await connector.acceptor.accept(
        user.caller, connector.market.verify(activation), idempotency_key
    )
    return await answer(connector, op, response, prefer)
