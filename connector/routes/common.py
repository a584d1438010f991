"""What every write route answers: 202 with the operation, or its outcome with `Prefer: wait`.

`Prefer: respond-async` (the default) answers 202 at once. `Prefer: wait=N` (RFC 7240) waits up
to N seconds (capped by the connector) for the ledger: 200 with the committed operation, or the
refusal's own status and message (409, 403, 404, 422) when the ledger refused it, or 202 if it
is still running. An unreachable ledger at that point gives 503; the operation stays queued.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Response

from connector.errors import (
    ApiError,
    Conflict,
    Forbidden,
    InvalidInput,
    LedgerDown,
    LedgerSlow,
    NotFound,
    from_ledger,
)
from connector.errors import responses as error_responses
from connector.runtime import Connector
from connector.schemas.common import OperationOut, OperationStatus
from connector.services.documents import Checked
from connector.store import operations
from connector.store.tables import Operation

_WAIT = re.compile(r"(?:^|[\s,;])wait\s*=\s*(\d+(?:\.\d+)?)")
_BY_STATUS: dict[int, type[ApiError]] = {
    422: InvalidInput,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    503: LedgerDown,
    504: LedgerSlow,
}

WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": OperationOut, "description": "accepted: the operation runs behind"},
    200: {"model": OperationOut, "description": "with `Prefer: wait=N`: committed"},
    **error_responses(401, 403, 404, 409, 422, 503, 504),
}


def wanted_wait(prefer: str | None, cap: float) -> float | None:
    if not prefer:
        return None
    match = _WAIT.search(prefer)
    return min(float(match.group(1)), cap) if match else None


def _failure(op: Operation) -> ApiError:
    status = op.error_status or 409
    cls = _BY_STATUS.get(status, Conflict)
    error = cls(op.error_message or "the operation failed", code=op.error_code, operation_id=op.id)
    error.status = status
    return error


async def answer(
    connector: Connector, op: Operation, response: Response, prefer: str | None
) -> OperationOut:
    """The reply to an accepted write (see the module's doc)."""
    response.headers["Location"] = f"/operations/{op.id}"
    seconds = wanted_wait(prefer, connector.settings.max_wait_seconds)
    if seconds is not None:
        finished = await connector.runner.wait(op.id, seconds)
        if finished is not None:
            op = finished
        else:
            async with connector.db.reading() as session:
                op = await operations.get(session, op.id) or op
        response.headers["Preference-Applied"] = f"wait={seconds:g}"
        if op.status == OperationStatus.failed:
            raise _failure(op)
        if op.status == OperationStatus.committed:
            response.status_code = 200
            return connector.runner.present(op)
        held_up = connector.runner.held_up.get(op.id)
        if held_up is not None:  # still queued, and retried: say why the wait was not enough
            raise from_ledger(held_up, operation_id=op.id)
    response.status_code = 202
    return connector.runner.present(op)


def document_response(doc: Checked, fallback_name: str) -> Response:
    """A document's bytes as a download, with the SHA-256 they were checked against."""
    name = (doc.filename or fallback_name).replace('"', "")
    return Response(
        doc.content,
        media_type=doc.mime_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-SHA256": doc.sha256,
        },
    )
