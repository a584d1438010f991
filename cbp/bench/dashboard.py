"""`cbp bench dashboard`: server time per dashboard page with 10,000 PODs in the store.

The bench starts its own sandbox (embedded engine) and the connectors of BSP 1 and the TSO as
`cbp connector up` starts them, fills the store the way a BSP would, through the ledger (a
mass-loading file of N PODs, each a Register Flex Resource transaction, mirrored by both
connectors from the ledger's events), then asks each page many times, one request at a time,
and reads the connector's own `Server-Timing` (request in, response out; a page is rendered by
then). Beside the pages it measures, in the same run and the same way, each connector's JSON
API list endpoint (`GET /pods?limit=50`): the reference a page's cost is judged against.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cbp.bench.stats import percentile
from network.paths import sandbox_paths
from network.processes import Supervisor
from network.sandbox import Sandbox
from network.topology import load_topology

TARGET_MS = 200.0
ARETI = "10XIT-ARETI----C"
_TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass
class PageFigures:
    org: str
    page: str
    requests: int
    server_p50_ms: float
    server_p95_ms: float
    server_max_ms: float
    client_p95_ms: float
    reference: bool = False


@dataclass
class DashboardReport:
    pods: int
    fill_seconds: float
    requests_per_page: int
    started: str
    load_at_start: float
    load_at_end: float = 0.0
    pages: list[PageFigures] = field(default_factory=list)

    @property
    def worst(self) -> PageFigures:
        return max((p for p in self.pages if not p.reference), key=lambda p: p.server_p95_ms)

    def reference(self, org: str) -> PageFigures:
        return next(p for p in self.pages if p.reference and p.org == org)

    def to_text(self) -> str:
        lines = [
            f"cbp bench dashboard — {self.started}, {self.pods} PODs in the store "
            f"(filled through the ledger in {self.fill_seconds:.0f} s), "
            f"{self.requests_per_page} requests per page, one at a time; "
            f"{os.cpu_count()} cores, load average {self.load_at_start:.1f} at the start of the "
            f"measurements, {self.load_at_end:.1f} at the end",
            "",
            f"{'connector':<10} {'page':<44} {'server p50':>10} {'p95':>8} {'max':>8} "
            f"{'client p95':>10}  {'p95 / API':>9}",
        ]
        for p in self.pages:
            ref = self.reference(p.org)
            ratio = p.server_p95_ms / ref.server_p95_ms if ref.server_p95_ms else 0.0
            label = f"{p.page}{'  (reference)' if p.reference else ''}"
            lines.append(
                f"{p.org:<10} {label:<44} {p.server_p50_ms:>8.1f}ms {p.server_p95_ms:>6.1f}ms "
                f"{p.server_max_ms:>6.1f}ms {p.client_p95_ms:>8.1f}ms  {ratio:>8.1f}x"
            )
        worst = self.worst
        ref = self.reference(worst.org)
        verdict = "met" if worst.server_p95_ms <= TARGET_MS else "NOT met"
        lines += [
            "",
            f"target p95 <= {TARGET_MS:.0f} ms per page: {verdict} (slowest: {worst.org} "
            f"{worst.page}, p95 {worst.server_p95_ms:.1f} ms; {worst.org}'s JSON API list "
            f"{ref.server_p95_ms:.1f} ms in the same run)",
        ]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def pods_file(n: int, seed: int) -> tuple[bytes, list[str]]:
    """A mass-loading CSV of `n` PODs of BSP 1 in Areti's grid, and their codes."""
    rng = random.Random(seed)
    codes = [f"IT002E{c:08d}" for c in rng.sample(range(10**8), n)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "meteringPointId",
            "resourceName",
            "direction",
            "contractedPower",
            "maximumFlexUp",
            "maximumFlexDown",
            "gridVoltageLevel",
            "distributionGridOperatorName",
            "startDateTime",
        ]
    )
    for i, code in enumerate(codes):
        power = 50 + (i % 40) * 10
        writer.writerow(
            [
                code,
                f"Site {i:05d}",
                "consumption",
                power,
                power // 2,
                power // 3,
                "MV",
                ARETI,
                "2026-03-01",
            ]
        )
    return out.getvalue().encode(), codes


class _Client:
    """One organisation's connector, logged in for the API (Bearer) and the pages (cookie)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        reply = self.http.post("/auth/token", data={"username": username, "password": password})
        reply.raise_for_status()
        token = reply.json()["access_token"]
        self.http.cookies.set("cbp_session", token)
        self.bearer = {"Authorization": f"Bearer {token}"}

    def timed(self, path: str, api: bool = False) -> tuple[float, float]:
        start = time.perf_counter()
        reply = self.http.get(path, headers=self.bearer if api else None)
        client = (time.perf_counter() - start) * 1000
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}: {reply.status_code} {reply.text[:300]}")
        found = _TIMING.search(reply.headers.get("server-timing", ""))
        if found is None:
            raise RuntimeError(f"GET {path}: no Server-Timing header")
        return float(found.group(1)), client


def _measure(
    client: _Client, org: str, name: str, paths: list[str], n: int, api: bool = False
) -> PageFigures:
    for path in paths[:3]:  # warm-up: templates compiled, caches filled
        client.timed(path, api)
    server, wall = [], []
    for i in range(n):
        s, c = client.timed(paths[i % len(paths)], api)
        server.append(s)
        wall.append(c)
    return PageFigures(
        org=org,
        page=name,
        requests=n,
        server_p50_ms=percentile(server, 50) or 0.0,
        server_p95_ms=percentile(server, 95) or 0.0,
        server_max_ms=max(server),
        client_p95_ms=percentile(wall, 95) or 0.0,
        reference=api,
    )


def run_dashboard(
    pods: int,
    requests: int,
    port_offset: int,
    keep: bool,
    say: Callable[[str], None],
    seed: int = 7,
) -> DashboardReport:
    home = Path(tempfile.mkdtemp(prefix="cbp-bench-dashboard-"))
    paths = sandbox_paths(home)
    topology = load_topology(port_offset=port_offset)
    sandbox = Sandbox(topology, paths, say=say)
    sup = Supervisor(paths)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    clients: list[_Client] = []
    try:
        sandbox.up("embedded")
        from connector.bootstrap import admit_all

        asyncio.run(admit_all(paths.connection_profile, say=say))
        urls = {}
        for org in ("bsp1", "tso"):
            port = topology.orgs[org].connector_port
            argv = [sys.executable, "-m", "connector.serve", "--org", org, "--home", str(home)]
            sup.start(f"connector-{org}", argv)
            urls[org] = f"http://127.0.0.1:{port}"
        for org, url in urls.items():
            sup.wait_until(f"connector-{org}", _answering(url), 90, "answering")
        logins = {
            org: json.loads((home / "connectors" / org / "demo-logins.json").read_text())
            for org in urls
        }
        bsp = _Client(urls["bsp1"], "bsp1-operator", logins["bsp1"]["bsp1-operator"])
        tso = _Client(urls["tso"], "tso-operator", logins["tso"]["tso-operator"])
        clients += [bsp, tso]

        content, codes = pods_file(pods, seed)
        say(f"filling the store: {pods} PODs through the ledger (one mass-loading file)")
        fill_start = time.monotonic()
        reply = bsp.http.post(
            "/loads", files={"file": ("pods.csv", content, "text/csv")}, headers=bsp.bearer
        )
        if reply.status_code != 202:
            raise RuntimeError(f"the mass load was refused: {reply.status_code} {reply.text}")
        load = reply.json()
        while True:
            progress = bsp.http.get(f"/loads/{load['id']}", headers=bsp.bearer).json()
            if progress["done"]:
                break
            say(f"  {progress['committed']} committed, {progress['running']} running")
            time.sleep(5)
        if progress["failed"] or progress["invalid"]:
            raise RuntimeError(f"the mass load did not commit every row: {progress}")
        for client, org in ((bsp, "bsp1"), (tso, "tso")):
            while client.http.get("/pods?limit=1", headers=client.bearer).json()["total"] < pods:
                time.sleep(1)
            say(f"  {org}'s connector holds {pods} PODs")
        fill_seconds = time.monotonic() - fill_start

        report = DashboardReport(pods, fill_seconds, requests, started, os.getloadavg()[0])
        rng = random.Random(seed)
        sample = rng.sample(codes, 50)
        second = bsp.http.get("/pods?limit=50", headers=bsp.bearer).json()["nextCursor"]
        pages = [
            (bsp, "bsp1", "home", ["/ui/"]),
            (bsp, "bsp1", "PODs, first page", ["/ui/pods"]),
            (bsp, "bsp1", "PODs, second page", [f"/ui/pods?cursor={second}&back=-"]),
            (bsp, "bsp1", "PODs, by status", ["/ui/pods?status=Registered"]),
            (bsp, "bsp1", "PODs, search", [f"/ui/pods?q={c[6:10]}" for c in sample]),
            (bsp, "bsp1", "POD page", [f"/ui/pods/{c}" for c in sample]),
            (bsp, "bsp1", "POD registration form", ["/ui/pods/new"]),
            (bsp, "bsp1", "UVAMs", ["/ui/uvams"]),
            (bsp, "bsp1", "operations", ["/ui/operations"]),
            (bsp, "bsp1", "mass loading report", [f"/ui/loads/{load['id']}"]),
            (tso, "tso", "home", ["/ui/"]),
            (tso, "tso", "review queue", ["/ui/review"]),
            (tso, "tso", "PODs, first page", ["/ui/pods"]),
            (tso, "tso", "POD page", [f"/ui/pods/{c}" for c in sample]),
            (tso, "tso", "ledger explorer", ["/ui/explorer"]),
            (tso, "tso", "channel's newest blocks", ["/ui/explorer/bsp1-channel"]),
            (tso, "tso", "POD history (from the blocks)", [f"/ui/history/pod/{c}" for c in sample]),
        ]
        for client, org, name, targets in pages:
            say(f"measuring {org}: {name}")
            report.pages.append(_measure(client, org, name, targets, requests))
        for client, org in ((bsp, "bsp1"), (tso, "tso")):
            say(f"measuring the reference: {org}'s JSON API, GET /pods?limit=50")
            report.pages.append(
                _measure(client, org, "API GET /pods?limit=50", ["/pods?limit=50"], requests, True)
            )
        report.load_at_end = os.getloadavg()[0]
        return report
    finally:
        for client in clients:
            client.http.close()
        for org in ("bsp1", "tso"):
            sup.stop(f"connector-{org}")
        sandbox.down()
        if keep:
            say(f"kept the bench's sandbox in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _answering(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "dashboard",
        help="server time per dashboard page with 10,000 PODs in the store, beside the JSON API",
        description=__doc__,
    )
    p.add_argument("--pods", type=int, default=10_000, help="PODs in the store (default 10000)")
    p.add_argument(
        "--requests", type=int, default=100, help="requests per page, one at a time (default 100)"
    )
    p.add_argument(
        "--port-offset",
        type=int,
        help="port offset of the bench's own sandbox (default $CBP_PORT_OFFSET or 0)",
    )
    p.add_argument("--keep", action="store_true", help="keep the bench's sandbox folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from cbp.bench.settings import default_port_offset

    if not 1 <= args.pods <= 20_000:
        print("cbp bench dashboard: error: --pods must be 1 to 20000 (one file)", file=sys.stderr)
        return 2
    if args.requests < 20:
        print(
            "cbp bench dashboard: error: --requests must be 20 or more for a p95", file=sys.stderr
        )
        return 2
    stream = sys.stderr if args.json else sys.stdout

    def say(msg: str) -> None:
        print(f"[bench] {msg}", file=stream, flush=True)

    offset = args.port_offset if args.port_offset is not None else default_port_offset()
    try:
        report = run_dashboard(args.pods, args.requests, offset, args.keep, say)
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"cbp bench dashboard: error: {exc}", file=sys.stderr)
        return 1
    print(report.to_json() if args.json else "\n" + report.to_text())
    return 0
