"""The market phases' place in the menu (bidding, activation, verification): not built here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from connector.web.session import PageUser
from connector.web.templating import render

router = APIRouter(prefix="/ui")


@router.get("/market", response_class=HTMLResponse)
async def market(request: Request, user: PageUser) -> HTMLResponse:
    return render(request, "market.html", user, "market")
