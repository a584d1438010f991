"""Mass loading: upload a CSV or XLSX of PODs and devices; follow it; download its report."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Response, UploadFile
from pydantic import BaseModel
from sqlalchemy import select

from connector.deps import ConnectorDep, Principal, Reader, SessionDep, requires
from connector.errors import ApiError, NotFound, responses
from connector.permissions import Action
from connector.routes.uploads import read_upload
from connector.schemas.registry import DeviceCreate, PodCreate
from connector.services import loading
from connector.services.accept import Write
from connector.services.registry import Located
from connector.store import operations
from connector.store.tables import Load, LoadRow, Operation, as_utc

router = APIRouter(prefix="/loads", tags=["Mass loading"])
MAX_FILE = 8 * 1024 * 1024


class LoadOut(BaseModel):
    id: str
    filename: str
    createdAt: datetime
    rows: int
    invalid: int
    accepted: int
    committed: int
    failed: int
    running: int
    done: bool
    links: dict[str, str]


async def _out(session: SessionDep, load: Load) -> LoadOut:
    counts = await operations.counts(session, load.id)
    committed, failed = counts.get("committed", 0), counts.get("failed", 0)
    accepted = load.rows_total - load.rows_invalid
    running = accepted - committed - failed
    return LoadOut(
        id=load.id,
        filename=load.filename,
        createdAt=as_utc(load.created_at),
        rows=load.rows_total,
        invalid=load.rows_invalid,
        accepted=accepted,
        committed=committed,
        failed=failed,
        running=running,
        done=running == 0,
        links={
            "self": f"/loads/{load.id}",
            "report": f"/loads/{load.id}/report",
            "operations": f"/operations?load={load.id}",
        },
    )


@router.post(
    "", status_code=202, response_model=LoadOut, responses=responses(401, 403, 413, 415, 422)
)
async def upload(
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX, first row: field names")],
    user: Annotated[Principal, Depends(requires(Action.register))],
    connector: ConnectorDep,
    session: SessionDep,
) -> LoadOut:
    """Check every row; each good row becomes a Register Flex Resource operation at once, a bad
    row is reported with its reason; follow the progress at `/loads/{id}`."""
    content, name = await read_upload(file, MAX_FILE, "the file")
    filename = name or "upload"
    parsed = loading.parse(content, filename)
    channel = connector.registry.home_channel(None)
    in_file: dict[str, Located] = {}
    writes: list[tuple[loading.Row, Write]] = []
    for row in parsed.rows:
        if row.reason is not None:
            continue
        try:
            if isinstance(row.body, PodCreate):
                write = connector.registry.register_pod(row.body, channel)
                in_file[row.body.meteringPointId] = Located(
                    "pod", row.body.meteringPointId, channel, {}
                )
            else:
                assert isinstance(row.body, DeviceCreate) and row.parent is not None
                parent = in_file.get(row.parent.upper()) or await connector.registry.locate(
                    session, "pod", row.parent.upper(), channel
                )
                write = connector.registry.register_device(parent, row.body)
        except ApiError as exc:  # this row's own refusal (unknown parent, another BSP's...)
            row.reason = exc.message
            continue
        writes.append((row, write))

    load = Load(
        id=uuid.uuid4().hex,
        filename=filename,
        username=user.username,
        rows_total=len(parsed.rows),
        rows_invalid=len(parsed.rows) - len(writes),
    )
    async with connector.db.session() as writer:
        writer.add(load)
        await writer.commit()
    ops = await connector.acceptor.accept_many(user.caller, [w for _, w in writes], load.id)
    by_line = {row.line: op for (row, _), op in zip(writes, ops, strict=True)}
    async with connector.db.session() as writer:
        writer.add_all(
            LoadRow(
                load_id=load.id,
                line=row.line,
                kind=row.kind,
                resource_id=row.resource_id,
                outcome="accepted" if row.line in by_line else "invalid",
                reason=row.reason,
                operation_id=by_line[row.line].id if row.line in by_line else None,
            )
            for row in parsed.rows
        )
        await writer.commit()
    return await _out(session, load)


@router.get("/{load_id}", response_model=LoadOut, responses=responses(401, 404))
async def progress(load_id: str, user: Reader, session: SessionDep) -> LoadOut:
    load = await session.get(Load, load_id)
    if load is None:
        raise NotFound(f"load {load_id} is not known to this connector")
    return await _out(session, load)


@router.get(
    "/{load_id}/report",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(401, 404)},
)
async def report(load_id: str, user: Reader, session: SessionDep) -> Response:
    """One line per row: line, kind, id, outcome (invalid, committed, failed, running), reason,
    operation, transaction and block."""
    load = await session.get(Load, load_id)
    if load is None:
        raise NotFound(f"load {load_id} is not known to this connector")
    rows = (
        await session.execute(
            select(LoadRow, Operation)
            .outerjoin(Operation, Operation.id == LoadRow.operation_id)
            .where(LoadRow.load_id == load_id)
            .order_by(LoadRow.line)
        )
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["line", "kind", "id", "outcome", "reason", "operationId", "transactionId", "blockNumber"]
    )
    for row, op in rows:
        if op is None:
            writer.writerow(
                [row.line, row.kind, row.resource_id or "", "invalid", row.reason, "", "", ""]
            )
            continue
        outcome = {"committed": "committed", "failed": "failed"}.get(op.status, "running")
        writer.writerow(
            [
                row.line,
                row.kind,
                row.resource_id or "",
                outcome,
                op.error_message or "",
                op.id,
                op.tx_id,
                op.block_number or "",
            ]
        )
    stem = load.filename.rsplit(".", 1)[0].replace('"', "")
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{stem}-report.csv"'},
    )
