"""Rendering pages: the Jinja2 templates shipped with the package, their filters, and the
context every page shares (who is logged in, the navigation of the organisation's role)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined

from connector.deps import Principal
from connector.org import Role
from connector.permissions import Action
from connector.web.session import csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    section: str
    available: bool = True


def navigation(role: Role, actions: frozenset[Action]) -> list[NavItem]:
    """The menu on the left: what the organisation's role works with (seed figure 16)."""
    items = [NavItem("Home", "/ui/", "home")]
    if role in (Role.INFRA, Role.EVUSER):  # the P2P market (seed figures 6-7)
        items += [
            NavItem("Pending transactions", "/ui/p2p/trades?status=Pending", "pending"),
            NavItem("Confirmed transactions", "/ui/p2p/trades?status=Confirmed", "confirmed"),
        ]
        if Action.trade in actions:
            items.append(NavItem("New trade", "/ui/p2p/trades/new", "new-trade"))
        items += [
            NavItem("EVs", "/ui/p2p/evs", "evs"),
            NavItem("Market parameters", "/ui/p2p/parameters", "parameters"),
            NavItem("Operations", "/ui/operations", "operations"),
            NavItem("Ledger explorer", "/ui/explorer", "explorer"),
        ]
        return items
    if role is Role.TSO:
        items.append(NavItem("Review queue", "/ui/review", "review"))
    if role is Role.DSO:
        items.append(NavItem("Awaiting analysis", "/ui/review", "review"))
    items.append(NavItem("Resources (PODs)", "/ui/pods", "pods"))
    if role is not Role.DSO:
        items.append(NavItem("Resource groups (UVAMs)", "/ui/uvams", "uvams"))
    if Action.register in actions:
        items.append(NavItem("Mass loading", "/ui/loads", "loads"))
    if role in (Role.TSO, Role.AUDITOR):
        items.append(NavItem("Participants", "/ui/participants", "participants"))
    if role is not Role.AUDITOR:
        items.append(NavItem("Operations", "/ui/operations", "operations"))
    items.append(NavItem("Market", "/ui/market", "market"))
    items.append(NavItem("Ledger explorer", "/ui/explorer", "explorer"))
    return items


def when(value: Any) -> str:
    """A time as people read it, always in UTC and saying so."""
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def short(value: str | None, n: int = 12) -> str:
    if not value or isinstance(value, Undefined):
        return ""
    return value if len(value) <= n + 1 else value[:n] + "…"


def kw(value: Any) -> str:
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    try:
        return f"{float(value):g} kW"
    except (TypeError, ValueError):
        return str(value)


def size(value: Any) -> str:
    """A document's size: bytes below a kilobyte, then KB and MB."""
    if not isinstance(value, int | float):
        return ""
    if value < 1024:
        return f"{int(value)} bytes"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KB"
    return f"{value / 1024 / 1024:.1f} MB"


STATUS_TONE = {
    "Registered": "neutral",
    "Open": "info",
    "UnderReview": "pending",
    "PreValidated": "info",
    "Validated": "good",
    "Qualified": "good",
    "Rejected": "bad",
    "Linked": "neutral",
    "accepted": "pending",
    "submitted": "pending",
    "committed": "good",
    "failed": "bad",
    "VALID": "good",
    "invalid": "bad",
    "running": "pending",
    "Active": "good",
    "Ended": "neutral",
    # the P2P market: trades, and an EV's role (eq. 1)
    "Pending": "pending",
    "Confirmed": "good",
    "Buyer": "info",
    "Seller": "good",
    "Neutral": "neutral",
    # the market's records
    "Submitted": "pending",
    "Accepted": "good",
    "Withdrawn": "neutral",
    "Sent": "pending",
    "Acknowledged": "info",
    "Verified": "good",
    "Settled": "good",
    "Anchored": "good",
    "Issued": "good",
    "passed": "good",
    "not passed": "bad",
}


def tone(status: str | None) -> str:
    if status is None:
        return "neutral"
    return STATUS_TONE.get(status, "bad" if status.isupper() else "neutral")


# where the dashboard shows a resource of each kind
PAGES = {
    "pod": "/ui/pods/{}",
    "uvam": "/ui/uvams/{}",
    "ev": "/ui/p2p/evs/{}",
    "trade": "/ui/p2p/trades/{}",
    "batch": "/ui/p2p/batches/{}",
    "marketparams": "/ui/p2p/parameters",
}


def page_of(kind: str, rid: str) -> str | None:
    """The dashboard page of a resource, or None for a kind without one."""
    pattern = PAGES.get(kind)
    return pattern.format(quote(rid, safe="")) if pattern else None


templates.env.filters.update(when=when, short=short, kw=kw, tone=tone, size=size)
templates.env.globals.update(page_of=page_of)
templates.env.globals.update(STATUS_TONE=STATUS_TONE)


def sync_position(connector: Any) -> str:
    """Where the event sync stands on each channel: a page rendered at one position has missed
    nothing if the position has not moved when its live stream opens."""
    state = connector.sync.state
    return ";".join(
        f"{ch}:{state[ch].get('block')}:{state[ch].get('txId')}" for ch in sorted(state)
    )


def render(
    request: Request,
    name: str,
    user: Principal | None,
    section: str = "",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    connector = request.app.state.connector
    org = connector.org.me
    shared: dict[str, Any] = {
        "org": org,
        "user": user,
        "section": section,
        "nav": navigation(org.role, user.actions) if user is not None else [],
        "csrf": csrf_token(request) if user is not None else "",
        "may": {a.name for a in user.actions} if user is not None else set(),
        "synced": sync_position(connector),
    }
    return templates.TemplateResponse(request, name, {**shared, **context}, status_code=status_code)
