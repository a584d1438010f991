"""`cbp bench chaincode`: the Python chaincode runtime against Fabric's Node contract
API, serving the same put/get contract to the same engine, driven by the same client.

Levels alternate between the two servers (Python, then Node, at each concurrency) so that any
drift of the machine during the run falls on both alike. The chaincode server's CPU per
committed transaction is read from /proc for its whole process tree.
"""

from __future__ import annotations

import subprocess

from cbp.bench.paired import run_paired
from cbp.bench.report import BenchReport, ratio_check
from cbp.bench.runner import REPO_ROOT, BenchError, Watch, python_driver_argv, run_driver
from cbp.bench.settings import BenchSettings, Say
from cbp.bench.stats import LevelResult
from cbp.bench.target import Target, bench_target
from cbp.bench.workloads import SMOKE_NODE_PUT, SMOKE_PUT, put_config

ENGINE = "engine"
CHAINCODE = "chaincode"
PYTHON, NODE = "python-runtime", "node-contract-api"
NODE_CHAINCODE_DIR = REPO_ROOT / "tests" / "conformance" / "node-chaincode"
NODE_SERVER_BIN = NODE_CHAINCODE_DIR / "node_modules" / ".bin" / "fabric-chaincode-node"


def ensure_node_packages(say: Say | None = None) -> None:
    """Install the Node contract's npm packages (`npm ci`) when they are missing."""
    if NODE_SERVER_BIN.exists():
        return
    if say is not None:
        say(f"installing the Node contract's npm packages (npm ci in {NODE_CHAINCODE_DIR})")
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=NODE_CHAINCODE_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not NODE_SERVER_BIN.exists():
        raise BenchError(
            f"npm ci in {NODE_CHAINCODE_DIR} failed (code {done.returncode}); the Node chaincode "
            f"server {NODE_SERVER_BIN} is needed:\n{done.stderr[-2000:]}"
        )


def start_node_chaincode(target: Target) -> bool:
    """Start the `smoke-node` server unless it runs; True when this bench started it."""
    name = SMOKE_NODE_PUT[0]
    if target.chaincode_pid(name):
        return False
    target.sandbox.start_chaincodes([name])
    return True


def run_chaincode(settings: BenchSettings) -> BenchReport:
    report = BenchReport(
        "chaincode",
        cpu_groups=[CHAINCODE, ENGINE],
        mem_groups=[CHAINCODE],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            PYTHON: "chaincode smoke, chaincode.smoke:SmokeContract Put",
            NODE: "chaincode smoke-node, fabric-contract-api put",
            "client": "gateway.aio, one connection",
        },
    )
    ensure_node_packages(settings.say)
    with bench_target("embedded", settings, report) as target:
        started = start_node_chaincode(target)
        try:
            _measure(target, settings, report)
        finally:
            if started and not target.started_here:
                target.sandbox.supervisor.stop("chaincode-" + SMOKE_NODE_PUT[0])
    add_checks(report)
    return report


def _measure(target: Target, settings: BenchSettings, report: BenchReport) -> None:
    contracts = {PYTHON: SMOKE_PUT, NODE: SMOKE_NODE_PUT}

    def measure(subject: str, level: int, run: int) -> list[LevelResult]:
        cc, fn = contracts[subject]
        watch = Watch({CHAINCODE: target.chaincode_pid(cc), ENGINE: target.engine_pids()})
        if not watch.groups[CHAINCODE]:
            raise BenchError(f"chaincode server {cc} is not running in {target.paths.home}")
        cfg = put_config(target.profile, settings, cc, fn, run=run, levels=[level])
        return run_driver(
            python_driver_argv(),
            cfg,
            watch,
            subject,
            settings.say,
            target.paths.logs / f"bench-chaincode-{cc}.log",
        )

    report.results += run_paired((PYTHON, NODE), settings.levels, settings.rounds, measure)


def add_checks(report: BenchReport) -> None:
    for r in report.results:
        if r.subject != PYTHON:
            continue
        node = report.at(NODE, r.concurrency)
        if node is None:
            continue
        report.checks.append(
            ratio_check(
                f"tx/s at c={r.concurrency}, Python runtime vs Node", r.tps, node.tps, at_least=1.0
            )
        )
        a, b = r.cpu_per_tx(CHAINCODE), node.cpu_per_tx(CHAINCODE)
        report.checks.append(
            ratio_check(
                f"chaincode CPU ms/tx at c={r.concurrency}, Python runtime vs Node",
                None if a is None else a * 1000,
                None if b is None else b * 1000,
                at_most=1.0,
            )
        )


__all__ = ["ensure_node_packages", "run_chaincode"]
