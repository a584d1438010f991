"""Operations with their live state, the participants of the network (the BNA admits), and
mass loading with its per-row report: the organisation's work as the API keeps it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import or_, select

from connector.deps import ConnectorDep, Principal, SessionDep
from connector.errors import ApiError, InvalidInput
from connector.permissions import Action
from connector.routes import loads as load_api
from connector.routes import operations as op_api
from connector.routes import participants as participant_api
from connector.schemas import registry as s
from connector.schemas.common import OperationStatus
from connector.store.tables import Load, LoadRow, Operation
from connector.web import forms
from connector.web.actions import WAIT, after, banner, idempotency_key, new_key
from connector.web.lists import listing
from connector.web.session import PageUser, check_csrf, page_requires
from connector.web.templating import render

router = APIRouter(prefix="/ui")
Csrf = Depends(check_csrf)


@router.get("/operations", response_class=HTMLResponse)
async def operation_list(
    request: Request,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
    status: OperationStatus | None = None,
    mine: bool = False,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    back: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    page = await op_api.list_operations(
        user=user,
        connector=connector,
        session=session,
        status=status,
        mine=mine,
        load=None,
        limit=50,
        cursor=cursor,
    )
    return render(
        request,
        "operations/list.html",
        user,
        "operations",
        page=page,
        recent=page.items,
        paging=listing(request, page, cursor, back),
        statuses=[m.value for m in OperationStatus],
        status=status.value if status else "",
        mine=mine,
    )


@router.get("/operations/{operation_id}", response_class=HTMLResponse)
async def operation_view(
    request: Request,
    operation_id: str,
    user: PageUser,
    connector: ConnectorDep,
    session: SessionDep,
) -> HTMLResponse:
    op = await op_api.get_operation(
        operation_id=operation_id, user=user, connector=connector, session=session
    )
    return render(request, "operations/detail.html", user, "operations", op=op)


# -- participants ----------------------------------------------------------------------------


async def _participants_page(
    request: Request, user: Principal, error: ApiError | None = None, op_ids: str | None = None
) -> HTMLResponse:
    connector = request.app.state.connector
    async with connector.db.session() as session:
        items = await participant_api.list_participants(
            user=user, connector=connector, session=session
        )
    ranks = {"TSO": 0, "DSO": 1, "BSP": 2}
    items = sorted(
        items, key=lambda p: (p.channel, ranks.get(p.record.get("role", ""), 3), p.name or "")
    )
    return render(
        request,
        "participants.html",
        user,
        "participants",
        status_code=error.status if error else 200,
        items=items,
        error=error,
        done=await banner(request, op_ids),
        sections=forms.PARTICIPANT_SECTIONS,
        key=new_key(),
    )


@router.get("/participants", response_class=HTMLResponse)
async def participants(
    request: Request, user: PageUser, op: Annotated[str | None, Query(max_length=700)] = None
) -> HTMLResponse:
    return await _participants_page(request, user, op_ids=op)


@router.post("/participants", dependencies=[Csrf])
async def admit(
    request: Request,
    user: Annotated[Principal, Depends(page_requires(Action.admit))],
    connector: ConnectorDep,
) -> Response:
    """Admit a participant on every BSP channel (the BNA): one operation per channel."""
    form = await request.form()
    outcome = forms.parse(
        s.ParticipantCreate, forms.values_of(form), forms.field_names(forms.PARTICIPANT_SECTIONS)
    )
    if not outcome.ok:
        problems = [f"{k}: {v}" for k, v in outcome.errors.items()] or outcome.form_errors
        return await _participants_page(request, user, InvalidInput("; ".join(problems)))
    body = outcome.body
    assert isinstance(body, s.ParticipantCreate)
    try:
        ops = await participant_api.admit_participant(
            body=body, user=user, connector=connector, idempotency_key=idempotency_key(form)
        )
    except ApiError as exc:
        return await _participants_page(request, user, exc)
    seconds = float(WAIT.split("=")[1])
    for op in ops:
        await connector.runner.wait(op.id, seconds)
    return after("/ui/participants", ",".join(o.id for o in ops))


# -- mass loading ----------------------------------------------------------------------------

Registrar = Annotated[Principal, Depends(page_requires(Action.register))]


async def _loads_page(
    request: Request, user: Principal, session: SessionDep, error: ApiError | None = None
) -> HTMLResponse:
    recent = (
        await session.execute(select(Load.id).order_by(Load.created_at.desc()).limit(20))
    ).scalars()
    return render(
        request,
        "loads/list.html",
        user,
        "loads",
        status_code=error.status if error else 200,
        error=error,
        loads=[await load_api.progress(load_id=i, user=user, session=session) for i in recent],
        key=new_key(),
    )


@router.get("/loads", response_class=HTMLResponse)
async def loads(request: Request, user: Registrar, session: SessionDep) -> HTMLResponse:
    return await _loads_page(request, user, session)


@router.post("/loads", dependencies=[Csrf])
async def upload_load(
    request: Request,
    user: Registrar,
    connector: ConnectorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    try:
        load = await load_api.upload(file=file, user=user, connector=connector, session=session)
    except ApiError as exc:
        return await _loads_page(request, user, session, exc)
    return after(f"/ui/loads/{load.id}", None)


REPORT_ROWS = 100


@router.get("/loads/{load_id}", response_class=HTMLResponse)
async def load_view(
    request: Request,
    load_id: str,
    user: PageUser,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    problems: bool = False,
) -> HTMLResponse:
    """The per-row report, a hundred rows a page; `problems` keeps the rows not committed."""
    progress = await load_api.progress(load_id=load_id, user=user, session=session)
    # the operation's few columns the report shows, not the whole row (its proposal is kBs)
    query = (
        select(
            LoadRow,
            Operation.status,
            Operation.error_message,
            Operation.block_number,
            Operation.channel,
        )
        .outerjoin(Operation, Operation.id == LoadRow.operation_id)
        .where(LoadRow.load_id == load_id)
    )
    if problems:
        query = query.where(or_(Operation.id.is_(None), Operation.status != "committed"))
    rows = (
        await session.execute(
            query.order_by(LoadRow.line).offset((page - 1) * REPORT_ROWS).limit(REPORT_ROWS + 1)
        )
    ).all()
    return render(
        request,
        "loads/detail.html",
        user,
        "loads",
        load=progress,
        rows=rows[:REPORT_ROWS],
        page=page,
        more=len(rows) > REPORT_ROWS,
        problems=problems,
    )
