"""Health: is the connector up, does it reach the ledger, how far has it synced."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from connector.deps import ConnectorDep
from connector.ledger import LedgerError
from connector.schemas.common import Health

router = APIRouter(tags=["Health"])


@router.get("/health", response_model=Health)
async def health(connector: ConnectorDep) -> Health:
    """No log-in needed. `status` is ok when every channel answers, else degraded."""
    ledger: dict[str, Any] = {}
    for channel in connector.org.channels:
        try:
            height = await asyncio.wait_for(connector.ledger.height("User1", channel), 2.0)
            ledger[channel] = {"height": height}
        except (LedgerError, TimeoutError) as exc:
            ledger[channel] = {"error": str(exc) or "no answer within 2 s"}
    ok = all("height" in v for v in ledger.values())
    return Health(
        status="ok" if ok else "degraded",
        organisation=connector.org.me.key,
        role=connector.org.me.role.value,
        channels=list(connector.org.channels),
        ledger=ledger,
        sync=connector.sync.state,
    )
