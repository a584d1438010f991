"""`cbp bench connector`: the CBP Connector against the gateway-direct registry, in one run.

On one fresh sandbox (embedded engine) with the registry's participants admitted and BSP 1's
connector running beside it:

1. committed POD registrations per second at each concurrency, through the connector (HTTP,
   each request waiting for its commit with `Prefer: wait`) and straight through the gateway
   (the `registry` bench's own driver), in ABBA order over `--rounds` rounds;
2. with 10,000 PODs in the connector's store, 50 users (each thinking a second, on average,
   between requests, as load-testing tools model users) sending accepted writes (202), list
   pages and details for 30 s (or `--duration`, if longer): each kind's p50 and p99;
3. the wall time of a 1,000-row mass load (250 PODs with 3 chargers each), to the last commit.

The processes measured: the engine, the registry's chaincode server, the connector and the
load driver, each over exactly the window whose requests are counted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbp.bench.paired import run_paired
from cbp.bench.protocol import HttpDriverConfig, LoadConfig
from cbp.bench.registry import pod_config
from cbp.bench.report import BenchReport, bound_check, ratio_check
from cbp.bench.runner import CLIENT, BenchError, Watch, python_driver_argv, run_driver
from cbp.bench.settings import BenchSettings
from cbp.bench.stats import LevelResult, percentile
from cbp.bench.target import Target, bench_target
from network.processes import Supervisor

ORG = "bsp1"
ENGINE, CHAINCODE, CONNECTOR = "engine", "chaincode", "connector"
GATEWAY_SUBJECT, CONNECTOR_SUBJECT, MIX_SUBJECT = "gateway", "connector", "connector, 50 users"
STORE_PODS = 10_000
MIX_USERS = 50
THINK_SECONDS = 1.0
# the mixed load's window: at about 50 requests/s, 30 s gives some 1,500 requests (300 writes),
# so that a p99 is not just the slowest one or two
MIX_SECONDS = 30.0
LOAD_SITES = 250  # x (1 POD + 3 chargers) = 1,000 rows
RATIO_TARGET = 0.9
LATENCY_TARGET = 0.050
# $ID ranges: the throughput runs take 1,000,000 ids each from 0; the mixed load and the mass
# load have blocks of their own at the top of the 8-digit range
RUN_IDS, MIX_IDS, LOAD_IDS = 1_000_000, 90_000_000, 95_000_000


@dataclass(frozen=True)
class RunningConnector:
    url: str
    username: str
    password: str
    pid: int
    folder: Path


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_connector(target: Target, say: Any) -> RunningConnector:
    """BSP 1's connector beside the sandbox (stopped with it), with its demo operator."""
    profile = json.loads(target.profile.read_text())
    url = profile["organizations"][ORG]["connectorUrl"]
    sup = Supervisor(target.paths)
    name = f"connector-{ORG}"
    if not sup.is_running(name):
        argv = [
            sys.executable,
            "-m",
            "connector.serve",
            "--org",
            ORG,
            "--home",
            str(target.paths.home),
        ]
        sup.start(name, argv)
        took = sup.wait_until(name, lambda: _healthy(url), 90, "answering")
        say(f"connector {ORG} ready in {took:.1f} s at {url}")
    folder = target.paths.home / "connectors" / ORG
    logins = json.loads((folder / "demo-logins.json").read_text())
    pid = sup.pid(name)
    if pid is None:
        raise BenchError(f"connector {ORG} has no pid file under {target.paths.run}")
    username = f"{ORG}-operator"
    return RunningConnector(url, username, logins[username], pid, folder)


def connector_body(target: Target) -> str:
    """What the connector's client sends: the same POD as the gateway driver's, without the
    header fields the connector fills in itself."""
    pod = json.loads(pod_config(target, _settings_stub()).args[0])
    for field in (
        "registrationPeriod",
        "receiverId",
        "receiverCodingSchemeType",
        "flexibilityServiceProviderId",
        "flexibilityServiceProviderCodingSchemeType",
        "status",
    ):
        pod.pop(field, None)
    return json.dumps(pod, sort_keys=True)


def _settings_stub() -> BenchSettings:
    return BenchSettings(levels=[1], duration=1.0, warmup=0.0, port_offset=0)


async def _fill_store(conn: RunningConnector, template: str, count: int) -> list[str]:
    """`count` POD records written into the connector's mirror (its store); the reads measured
    next come from the store, which does not ask the ledger."""
    from connector.store import resources
    from connector.store.database import Database

    db = Database(f"sqlite:///{conn.folder / 'connector.db'}")
    ids = []
    try:
        for start in range(0, count, 500):
            async with db.session() as session:
                for n in range(start, min(start + 500, count)):
                    code = f"IT002E{80_000_000 + n:08d}"
                    record = json.loads(template.replace("$ID", f"{80_000_000 + n:08d}"))
                    record.update(
                        docType="pod",
                        status=["Registered", "Open", "Validated"][n % 3],
                        flexibilityServiceProviderId="10XIT-BSP-ALFA-U",
                        updatedAt="2026-03-01T00:00:00.000000Z",
                    )
                    await resources.upsert(session, "bsp1-channel", record, 0)
                    ids.append(code)
                await session.commit()
    finally:
        await db.close()
    return ids


def _mass_load_file() -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "meteringPointId",
            "parentResourceId",
            "resourceId",
            "resourceName",
            "deviceType",
            "direction",
            "contractedPower",
            "maximumFlexUp",
            "maximumFlexDown",
            "gridVoltageLevel",
            "distributionGridOperatorName",
            "startDateTime",
        ]
    )
    for i in range(LOAD_SITES):
        code = f"IT002E{LOAD_IDS + i:08d}"
        w.writerow(
            [
                code,
                "",
                "",
                f"Site {i}",
                "",
                "consumption",
                80,
                66,
                66,
                "LV",
                "10XIT-ARETI----C",
                "2026-03-01",
            ]
        )
        for n in (1, 2, 3):
            w.writerow(
                [
                    "",
                    code,
                    f"{code}-EVSE-{n}",
                    f"Charger {n}",
                    "EVSE",
                    "consumption",
                    22,
                    22,
                    22,
                    "",
                    "",
                    "2026-03-01",
                ]
            )
    return out.getvalue().encode()


def _mass_load(conn: RunningConnector, say: Any) -> tuple[float, int, int]:
    from connector.client import ConnectorClient

    with ConnectorClient(conn.url, timeout=300) as api:
        api.log_in(conn.username, conn.password)
        started = time.monotonic()
        progress = api.post("/loads", files={"file": ("bench-1000.csv", _mass_load_file())})
        while not progress["done"]:
            time.sleep(0.5)
            progress = api.get(f"/loads/{progress['id']}")
            say(
                f"mass load: {progress['committed']} committed, {progress['failed']} failed, "
                f"{progress['running']} running"
            )
        return time.monotonic() - started, progress["committed"], progress["failed"]


def run_connector(settings: BenchSettings) -> BenchReport:
    report = BenchReport(
        "connector",
        unit="reg",
        cpu_groups=[ENGINE, CHAINCODE, CONNECTOR, CLIENT],
        mem_groups=[CONNECTOR],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "mixed_load_s": max(settings.duration, MIX_SECONDS),
            "warmup_s": settings.warmup,
            "rounds": settings.rounds,
            "transaction": "registry RegisterPod by bsp1 User1 on bsp1-channel",
            "store": "SQLite (the connector's default)",
        },
    )
    say = settings.say
    with bench_target("embedded", settings, report) as target:
        from connector.bootstrap import admit_all

        asyncio.run(admit_all(target.profile, say))
        conn = start_connector(target, say)
        watch = Watch(
            {
                ENGINE: target.engine_pids(),
                CHAINCODE: target.chaincode_pid("registry"),
                CONNECTOR: {f"connector-{ORG}": conn.pid},
            }
        )
        watch.groups[ENGINE].pop(f"connector-{ORG}", None)
        body = connector_body(target)

        def http_config(mode: str, level: int, id_base: int, **extra: Any) -> HttpDriverConfig:
            return HttpDriverConfig(
                url=conn.url,
                username=conn.username,
                password=conn.password,
                mode=mode,
                body=body,
                id_base=id_base,
                levels=[level],
                warmup=settings.warmup,
                **{"duration": settings.duration, **extra},
            )

        def measure(subject: str, level: int, run: int) -> list[LevelResult]:
            config: LoadConfig
            if subject == GATEWAY_SUBJECT:
                gateway = pod_config(target, settings, levels=[level])
                config, argv = (
                    gateway.model_copy(update={"id_base": run * RUN_IDS}),
                    python_driver_argv(),
                )
            else:
                config = http_config("commit", level, run * RUN_IDS)
                argv = [sys.executable, "-m", "cbp.bench.http_driver"]
            return run_driver(
                argv,
                config,
                watch,
                subject,
                say,
                target.paths.logs / f"bench-connector-{subject}.log",
            )

        say(f"throughput: connector vs gateway, {settings.rounds} round(s) per level, ABBA")
        report.results += run_paired(
            [GATEWAY_SUBJECT, CONNECTOR_SUBJECT], settings.levels, settings.rounds, measure
        )
        for level in settings.levels:
            ours, theirs = report.at(CONNECTOR_SUBJECT, level), report.at(GATEWAY_SUBJECT, level)
            if ours is not None and theirs is not None:
                report.checks.append(
                    ratio_check(
                        f"committed registrations/s at c={level}, connector vs gateway-direct",
                        ours.tps,
                        theirs.tps,
                        at_least=RATIO_TARGET,
                    )
                )

        say(f"store: writing {STORE_PODS} PODs into the connector's store")
        read_ids = asyncio.run(_fill_store(conn, body, STORE_PODS))
        say(f"mixed load: {MIX_USERS} users, accepted writes, lists and details")
        [mix] = run_driver(
            [sys.executable, "-m", "cbp.bench.http_driver"],
            http_config(
                "mix",
                MIX_USERS,
                MIX_IDS,
                read_ids=read_ids[::10],
                think=THINK_SECONDS,
                duration=max(settings.duration, MIX_SECONDS),
            ),
            watch,
            MIX_SUBJECT,
            say,
            target.paths.logs / "bench-connector-mix.log",
        )
        report.results.append(mix)
        for kind, label in (
            ("write", "accepted write"),
            ("list", "list page (50)"),
            ("detail", "detail"),
        ):
            values = mix.kinds.get(kind, [])
            report.checks.append(
                bound_check(
                    f"{label} p99 s, {MIX_USERS} users, {STORE_PODS} PODs in the store",
                    percentile(values, 99),
                    at_most=LATENCY_TARGET,
                )
            )
            report.notes.append(
                f"{label}: {len(values)} requests, p50 "
                f"{_ms(percentile(values, 50))}, p99 {_ms(percentile(values, 99))}"
            )

        say("mass load: 1,000 rows (250 PODs, 3 chargers each)")
        took, done, failed = _mass_load(conn, say)
        report.notes.append(
            f"mass load of 1,000 rows: {took:.1f} s to the last commit ({done} committed, "
            f"{failed} failed; {done / took:.1f} operations/s)"
        )
        report.notes.append(
            f"the {STORE_PODS} PODs of the mixed load were written into the connector's store "
            "directly (reads never ask the ledger); its accepted writes register real PODs; "
            f"each of its {MIX_USERS} users thinks {THINK_SECONDS:g} s on average between "
            f"requests ({mix.tps:.1f} requests/s in all)"
        )
    return report


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"
