"""The HTTP load driver: many concurrent requests to a connector's REST API.

Run as its own process (`python -m cbp.bench.http_driver < config.json`), speaking the same
protocol as the gateway driver (`cbp.bench.protocol`), so the bench measures both alike. In
`commit` mode each worker registers a POD and waits for its commit (`Prefer: wait`); in `mix`
mode the workers send accepted writes, list pages and details at random, and the window's end
carries each kind's latencies.

The client is aiohttp's: on this 2-core machine httpx's async client could not issue more than
about 40 requests a second with 50 in flight against a server that only sleeps 250 ms (p50
800 ms), where aiohttp's issued 168 (p50 278 ms); the driver must not be what is measured.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import sys
import time
from typing import Any

import aiohttp

from cbp.bench.driver import Window, emit
from cbp.bench.protocol import HttpDriverConfig, render_args

log = logging.getLogger(__name__)

WAIT = {"Prefer": "wait=60"}
STATUSES = ["Registered", "Open", "UnderReview", None]


class Refused(Exception):
    """The connector answered with an error status."""


async def _send(
    http: aiohttp.ClientSession, method: str, path: str, expected: int, **kw: Any
) -> None:
    async with http.request(method, path, **kw) as reply:
        body = await reply.read()
        if reply.status != expected:
            raise Refused(f"{method} {path.split('?')[0]} HTTP {reply.status}: {body[:120]!r}")


async def _commit(http: aiohttp.ClientSession, cfg: HttpDriverConfig, n: int) -> str:
    await _send(http, "POST", "/pods", 200, data=render_args([cfg.body], n)[0], headers=WAIT)
    return "commit"


async def _mixed(http: aiohttp.ClientSession, cfg: HttpDriverConfig, n: int) -> str:
    kind = random.choices(list(cfg.shares), weights=list(cfg.shares.values()))[0]
    if kind == "write":
        await _send(http, "POST", "/pods", 202, data=render_args([cfg.body], n)[0])
    elif kind == "list":
        status = random.choice(STATUSES)
        params: dict[str, Any] = {"limit": 50, **({"status": status} if status else {})}
        await _send(http, "GET", "/pods", 200, params=params)
    else:
        await _send(http, "GET", f"/pods/{random.choice(cfg.read_ids)}", 200)
    return kind


async def run_level(
    http: aiohttp.ClientSession, cfg: HttpDriverConfig, level: int, ids: itertools.count[int]
) -> None:
    window = Window()
    kinds: dict[str, list[float]] = {}
    stop = asyncio.Event()
    send = _commit if cfg.mode == "commit" else _mixed

    async def worker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            error: BaseException | None = None
            kind = ""
            try:
                kind = await send(http, cfg, next(ids))
            except Exception as exc:  # counted and reported, the load goes on
                error = exc
            t1 = time.perf_counter()
            window.record(t0, t1, error)
            if error is None and window.counts(t1):
                kinds.setdefault(kind, []).append(t1 - t0)
            if cfg.think:
                await asyncio.sleep(random.uniform(0.5, 1.5) * cfg.think)

    workers = [asyncio.create_task(worker()) for _ in range(level)]
    await asyncio.sleep(cfg.warmup)
    window.opened = time.perf_counter()
    cpu0 = time.process_time()
    emit("window_start", level=level)
    deadline = window.opened + cfg.duration
    while (now := time.perf_counter()) < deadline:
        await asyncio.sleep(min(cfg.progress_every, deadline - now))
        if time.perf_counter() < deadline:
            emit(
                "progress",
                level=level,
                elapsed=round(time.perf_counter() - window.opened, 3),
                committed=window.committed,
                failed=window.failed,
            )
    window.closed = time.perf_counter()
    cpu = time.process_time() - cpu0
    emit(
        "window_end",
        level=level,
        elapsed=round(window.closed - window.opened, 4),
        committed=window.committed,
        failed=window.failed,
        errors=window.errors,
        latencies_ms=[round(x * 1000, 2) for x in window.latencies],
        kinds_ms={k: [round(x * 1000, 2) for x in v] for k, v in kinds.items()},
        cpu_seconds=round(cpu, 4),
    )
    stop.set()
    _, pending = await asyncio.wait(workers, timeout=cfg.drain_timeout)
    for task in pending:
        task.cancel()


async def run(cfg: HttpDriverConfig) -> None:
    async with aiohttp.ClientSession(
        cfg.url,
        connector=aiohttp.TCPConnector(limit=max(cfg.levels) + 10),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as login:
        async with login.post(
            "/auth/token", data={"username": cfg.username, "password": cfg.password}
        ) as reply:
            reply.raise_for_status()
            token = (await reply.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(
        cfg.url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=max(cfg.levels) + 10),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as http:
        ids = itertools.count(cfg.id_base)
        await _commit(http, cfg, next(ids))
        emit("ready")
        for level in cfg.levels:
            await run_level(http, cfg, level, ids)
    emit("done")


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        cfg = HttpDriverConfig.model_validate_json(sys.stdin.read())
        asyncio.run(run(cfg))
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
