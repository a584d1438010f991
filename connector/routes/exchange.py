"""Between organisations: the documents this connector keeps, for another organisation's
connector that signs its request with its Fabric identity (see `connector/exchange.py`)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from connector import exchange
from connector.deps import ConnectorDep, SessionDep
from connector.errors import LedgerDown, Unauthenticated, responses
from connector.ledger import LedgerError
from connector.routes.common import document_response

router = APIRouter(prefix="/exchange", tags=["Between organisations"])

Digest = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="the document's SHA-256")]


@router.get(
    "/documents/{sha256}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}, "application/xml": {}},
            "description": "the document, for an organisation that may see its POD",
        },
        **responses(401, 403, 404, 422, 503),
    },
)
async def document(
    sha256: Digest, request: Request, connector: ConnectorDep, session: SessionDep
) -> Response:
    """An attachment's document for another organisation's connector. No log-in: the request
    is signed by a certificate of an organisation on this connector's channels (headers
    X-CBP-Certificate, X-CBP-MSP, X-CBP-Signed-At, X-CBP-Signature)."""
    try:
        cas = await connector.exchange.member_cas()
    except LedgerError as exc:
        raise LedgerDown(f"the channels' members cannot be read from the ledger: {exc}") from None
    try:
        requester = exchange.verify(request.headers, "GET", request.url.path, cas, time.time())
    except exchange.ExchangeRefused as refused:
        raise Unauthenticated(str(refused)) from None
    return document_response(await connector.exchange.answer(session, requester, sha256), sha256)
