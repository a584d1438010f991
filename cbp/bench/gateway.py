"""`cbp bench gateway`: the Python gateway client (`gateway.aio`) against Fabric's
official Node client (`@hyperledger/fabric-gateway`), same contract, engine and concurrency.

Both clients run as child processes with the same loop (`cbp.bench.protocol`): many concurrent
submits on one connection. Their CPU is read from /proc the same way for both, over the same
measured window; levels alternate (Python, then Node) so machine drift falls on both.
"""

from __future__ import annotations

from cbp.bench.paired import run_paired
from cbp.bench.report import BenchReport, ratio_check
from cbp.bench.runner import (
    CLIENT,
    REPO_ROOT,
    BenchError,
    Watch,
    node_driver_argv,
    python_driver_argv,
    run_driver,
)
from cbp.bench.settings import BenchSettings
from cbp.bench.stats import LevelResult
from cbp.bench.target import Target, bench_target
from cbp.bench.workloads import SMOKE_PUT, put_config

ENGINE = "engine"
PYTHON, NODE = "python-gateway", "node-fabric-gateway"
NODE_GATEWAY_PACKAGE = (
    REPO_ROOT
    / "tests"
    / "conformance"
    / "node"
    / "node_modules"
    / "@hyperledger"
    / "fabric-gateway"
)


def check_node_client() -> None:
    if not NODE_GATEWAY_PACKAGE.exists():
        raise BenchError(
            f"{NODE_GATEWAY_PACKAGE} is missing: run `npm ci` in "
            f"{NODE_GATEWAY_PACKAGE.parents[2]} to install Fabric's Node gateway client"
        )


def run_gateway(settings: BenchSettings) -> BenchReport:
    check_node_client()
    report = BenchReport(
        "gateway",
        cpu_groups=[CLIENT, ENGINE],
        mem_groups=[CLIENT],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "chaincode": "smoke Put (Python runtime)",
            PYTHON: "gateway.aio, one connection, asyncio tasks",
            NODE: "@hyperledger/fabric-gateway on @grpc/grpc-js, one connection, promises",
        },
    )
    with bench_target("embedded", settings, report) as target:
        _measure(target, settings, report)
    add_checks(report)
    return report


def _measure(target: Target, settings: BenchSettings, report: BenchReport) -> None:
    cc, fn = SMOKE_PUT
    argv = {PYTHON: python_driver_argv(), NODE: node_driver_argv()}

    def measure(subject: str, level: int, run: int) -> list[LevelResult]:
        cfg = put_config(target.profile, settings, cc, fn, run=run, levels=[level])
        return run_driver(
            argv[subject],
            cfg,
            Watch({ENGINE: target.engine_pids()}),
            subject,
            settings.say,
            target.paths.logs / f"bench-{subject}.log",
        )

    report.results += run_paired((PYTHON, NODE), settings.levels, settings.rounds, measure)


def add_checks(report: BenchReport) -> None:
    for r in report.results:
        node = report.at(NODE, r.concurrency) if r.subject == PYTHON else None
        if node is None:
            continue
        report.checks.append(
            ratio_check(
                f"tx/s at c={r.concurrency}, Python client vs Node",
                r.tps,
                node.tps,
                at_least=1.0,
            )
        )
        a, b = r.cpu_per_tx(CLIENT), node.cpu_per_tx(CLIENT)
        report.checks.append(
            ratio_check(
                f"client CPU ms/tx at c={r.concurrency}, Python client vs Node",
                None if a is None else a * 1000,
                None if b is None else b * 1000,
                at_most=1.0,
            )
        )


__all__ = ["run_gateway"]
