"""`cbp bench routing`: requests answered per second and latency of the routing API at a number
of concurrent clients, the service's own answer (`cheapest`: the mixed-integer program) beside
the reference measured in the same run on the same requests (`nearest`: the nearest free
charger, no program), both through the same HTTP server.

The server (`cbp routing serve`) runs as its own process on 127.0.0.1 with 20 clusters spread
over the grid; every request's search radius holds all of them. Before measuring, a day's worth
of reservations is committed (so prices carry the mark-ups they would carry); each measured
reservation is then cancelled by its client (not timed), so every measured request sees the
same book and as many free chargers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import numpy as np

from simulations.routing.fleet import Trip, generate_fleet
from simulations.routing.grid import RomeGrid, spread_clusters

TARGET_P99_MS = 500.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchResult:
    policy: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    clusters_considered: float
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _requests(n: int, seed: int, day: date, clusters: int) -> list[Trip]:
    grid = RomeGrid(clusters=spread_clusters(clusters))
    return generate_fleet(n, day, seed, grid.household_positions())


def _body(trip: Trip, policy: str) -> dict[str, Any]:
    # a radius that holds every cluster of the grid (about 1 km across)
    return trip.request(policy) | {"radius_km": 5.0, "accept_partial": True}


async def _measure(
    base_url: str, trips: list[Trip], policy: str, clients: int, duration: float
) -> BenchResult:
    latencies: list[float] = []
    considered: list[int] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + duration
    counter = iter(range(10**9))

    async def client(c: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            trip = trips[next(counter) % len(trips)]
            t0 = time.perf_counter()
            r = await c.post("/v1/requests", json=_body(trip, policy))
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                raise RuntimeError(f"the service answered {r.status_code}: {r.text[:200]}")
            a = r.json()
            latencies.append(dt)
            considered.append(a["clusters_considered"])
            statuses[a["status"]] = statuses.get(a["status"], 0) + 1
            if a["reservation_id"]:
                await c.delete(f"/v1/reservations/{a['reservation_id']}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as c:
        t_start = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        elapsed = time.perf_counter() - t_start
    lat = np.array(latencies) * 1000.0
    return BenchResult(
        policy=policy,
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=float(np.percentile(lat, 50)) if len(lat) else 0.0,
        p99_ms=float(np.percentile(lat, 99)) if len(lat) else 0.0,
        clusters_considered=float(np.mean(considered)) if considered else 0.0,
        statuses=statuses,
    )


async def _commit_book(base_url: str, trips: list[Trip]) -> int:
    held = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as c:
        for trip in trips:
            r = await c.post("/v1/requests", json=_body(trip, "cheapest"))
            r.raise_for_status()
            held += r.json()["status"] == "reserved"
    return held


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the routing server exited with {proc.returncode} before it was ready"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the routing server was not ready at {url} after {timeout:.0f} s")


def run_bench(
    port: int,
    clients: int = 10,
    clusters: int = 20,
    duration: float = 15.0,
    book: int = 40,
    seed: int = 1,
    say: Say = lambda _m: None,
) -> list[BenchResult]:
    day = date(2025, 3, 12)
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "cbp", "routing", "serve",
        "--port", str(port), "--clusters", str(clusters), "--day", day.isoformat(),
    ]  # fmt: skip
    say(f"starting the routing server on {url} with {clusters} clusters")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_ready(url, proc, 120.0)
        trips = _requests(book + 200, seed, day, clusters)
        say(f"committing a book of {book} reservations")
        held = asyncio.run(_commit_book(url, trips[:book]))
        say(f"  {held} reserved")
        measured = trips[book:]
        results = []
        for policy in ("nearest", "cheapest"):
            say(f"warm-up {policy}: 2 s at {clients} clients")
            asyncio.run(_measure(url, measured, policy, clients, 2.0))
            say(f"measuring {policy}: {duration:g} s at {clients} clients")
            results.append(asyncio.run(_measure(url, measured, policy, clients, duration)))
        return results
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def report(results: list[BenchResult], clients: int, clusters: int) -> str:
    lines = [
        f"routing API at {clients} concurrent clients, {clusters} clusters in range",
        "",
        f"{'answer':<34}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'clusters':>10}",
    ]
    label = {"nearest": "nearest charger (reference)", "cheapest": "routing service (MIP)"}
    for r in results:
        lines.append(
            f"{label[r.policy]:<34}{r.requests:>10}{r.rate:>10.1f}{r.p50_ms:>10.1f}"
            f"{r.p99_ms:>10.1f}{r.clusters_considered:>10.1f}"
        )
    mip = next((r for r in results if r.policy == "cheapest"), None)
    if mip is not None:
        ok = "meets" if mip.p99_ms <= TARGET_P99_MS else "MISSES"
        lines.append("")
        lines.append(f"routing p99 {mip.p99_ms:.0f} ms {ok} the target of {TARGET_P99_MS:.0f} ms")
        lines.append("answers: " + ", ".join(f"{k} {v}" for k, v in sorted(mip.statuses.items())))
    return "\n".join(lines)
