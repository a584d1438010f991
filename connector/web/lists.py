"""Paging a list page over the API's cursor pages: next, previous, first, and where we are.

The API hands out a cursor for the next page only; the page keeps the cursors of the pages
before it in the link (`back`), so "previous" needs no state on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

PAGE_SIZE = 50


@dataclass(frozen=True)
class Paging:
    number: int
    first_item: int
    last_item: int
    total: int
    next_url: str | None
    prev_url: str | None
    first_url: str | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _url(request: Request, **changes: str | None) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("cursor", "back", "op")}
    params.update({k: v for k, v in changes.items() if v})
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def listing(request: Request, page: Any, cursor: str | None, back: str | None) -> Paging:
    trail = back.split(",") if back and cursor else []  # "-" stands for the first page
    number = len(trail) + 1
    first = (number - 1) * PAGE_SIZE + 1 if page.items else 0
    next_url = prev_url = first_url = None
    if page.nextCursor:
        next_url = _url(request, cursor=page.nextCursor, back=",".join([*trail, cursor or "-"]))
    if cursor:
        previous = trail[-1] if trail else "-"
        prev_url = _url(
            request,
            cursor=None if previous == "-" else previous,
            back=",".join(trail[:-1]) or None,
        )
        first_url = _url(request)
    return Paging(
        number=number,
        first_item=first,
        last_item=first + len(page.items) - 1 if page.items else 0,
        total=page.total,
        next_url=next_url,
        prev_url=prev_url,
        first_url=first_url,
    )
