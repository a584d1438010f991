"""`Server-Timing: app;dur=<ms>` on every response: how long the connector took to answer,
from the request's arrival to the response's start (a page is rendered before it starts).
Browsers show it in their developer tools; `cbp bench dashboard` reads it."""

from __future__ import annotations

import time
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


class ServerTiming:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - start) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={took:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)
