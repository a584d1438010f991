"""Live updates inside one connector: what changed, for every open Server-Sent Events stream.

In-process only: a connector is one process. A slow client's queue is bounded; when it fills,
that client gets a `resync` notice instead of an ever-growing backlog.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

_QUEUE = 1000


@dataclass(frozen=True)
class Notice:
    id: int
    event: str  # operation | resource | resync
    data: dict[str, Any]


class Bus:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Notice]] = set()
        self._ids = itertools.count(1)

    @property
    def listeners(self) -> int:
        return len(self._queues)

    def publish(self, event: str, data: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        """Send to every open stream; `data` may be a function, called only when one is open
        (most writes happen with nobody watching)."""
        if not self._queues:
            return
        notice = Notice(next(self._ids), event, data() if callable(data) else data)
        for queue in list(self._queues):
            try:
                queue.put_nowait(notice)
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(Notice(notice.id, "resync", {"reason": "too many updates"}))

    async def subscribe(self) -> AsyncIterator[Notice]:
        queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize=_QUEUE)
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)
