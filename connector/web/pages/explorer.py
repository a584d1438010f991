"""The ledger explorer: channels and heights, blocks with their transactions, a transaction's
read/write set, and the verification of the chain, for the channels the organisation reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from connector.errors import InvalidInput
from connector.services.explorer import PAGE, Explorer
from connector.web.session import PageUser, check_csrf
from connector.web.templating import render

router = APIRouter(prefix="/ui/explorer")
Channel = Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9.-]*$")]
TxId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[0-9a-fA-F]+$")]


def _explorer(request: Request) -> Explorer:
    explorer: Explorer = request.app.state.explorer
    return explorer


@router.get("", response_class=HTMLResponse)
async def channels(request: Request, user: PageUser) -> HTMLResponse:
    overview = await _explorer(request).overview(user.fabric_user)
    return render(request, "explorer/channels.html", user, "explorer", channels=overview)


@router.get("/{channel}", response_class=HTMLResponse)
async def channel_blocks(
    request: Request,
    channel: Channel,
    user: PageUser,
    top: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    explorer = _explorer(request)
    height = await explorer.height(user.fabric_user, channel)
    newest = height - 1
    start = newest if top is None else min(top, newest)
    blocks = await explorer.blocks(user.fabric_user, channel, start, PAGE)
    return render(
        request,
        "explorer/blocks.html",
        user,
        "explorer",
        channel=channel,
        height=height,
        blocks=blocks,
        newer=min(start + PAGE, newest) if start < newest else None,
        older=start - PAGE if start - PAGE >= 0 else None,
        newest=newest,
        live_top=top is None,
    )


@router.get("/{channel}/blocks/{number}", response_class=HTMLResponse)
async def block(
    request: Request,
    channel: Channel,
    number: Annotated[int, Path(ge=0)],
    user: PageUser,
) -> HTMLResponse:
    explorer = _explorer(request)
    height = await explorer.height(user.fabric_user, channel)
    if number >= height:
        raise InvalidInput(f"{channel} has {height} blocks (0 to {height - 1}); no block {number}")
    view = await explorer.block(user.fabric_user, channel, number)
    return render(
        request,
        "explorer/block.html",
        user,
        "explorer",
        channel=channel,
        block=view,
        height=height,
    )


@router.get("/{channel}/tx/{tx_id}", response_class=HTMLResponse)
async def transaction(
    request: Request, channel: Channel, tx_id: TxId, user: PageUser
) -> HTMLResponse:
    tx = await _explorer(request).transaction(user.fabric_user, channel, tx_id.lower())
    return render(request, "explorer/tx.html", user, "explorer", channel=channel, tx=tx)


@router.get("/{channel}/verify")
async def verify_get(channel: Channel) -> RedirectResponse:
    return RedirectResponse(f"/ui/explorer/{channel}", status_code=303)


@router.post("/{channel}/verify", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def verify(request: Request, channel: Channel, user: PageUser) -> HTMLResponse:
    """`cbp audit verify` from the page: every block fetched and checked here."""
    report = await _explorer(request).verify(user.fabric_user, channel)
    return render(request, "explorer/verify.html", user, "explorer", channel=channel, report=report)
