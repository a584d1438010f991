"""`cbp bench ledger` (issue 4): the embedded engine against real Fabric, same chaincode,
same client, same channel settings.

Each engine gets its own fresh sandbox, one after the other (never both at once on 2 cores),
and the Python driver submits `smoke` Put at every concurrency level. The engine's CPU is the
embedded engine process, or Fabric's peers plus orderer; the chaincode server is measured
apart, being the same program on both. Without Fabric binaries the real-Fabric column is
skipped with the reason and the published reference is printed instead.
"""

from __future__ import annotations

from typing import cast

from cbp.bench import reference as ref
from cbp.bench.report import BenchReport, ratio_check
from cbp.bench.runner import CLIENT, Watch, python_driver_argv, run_driver
from cbp.bench.settings import BenchSettings
from cbp.bench.target import Target, bench_target
from cbp.bench.workloads import SMOKE_PUT, put_config
from network.sandbox import Engine

ENGINE = "engine"
CHAINCODE = "chaincode"


def fabric_missing() -> str | None:
    """Why real Fabric cannot run here, or None when its binaries are found."""
    from network.fabric.binaries import find_binaries

    try:
        find_binaries()
    except Exception as exc:  # BinariesMissing: its message says what to install
        return str(exc)
    return None


def measure(target: Target, settings: BenchSettings, report: BenchReport, run: int) -> None:
    chaincode, function = SMOKE_PUT
    watch = Watch({ENGINE: target.engine_pids(), CHAINCODE: target.chaincode_pid(chaincode)})
    if not watch.groups[ENGINE]:
        report.notes.append(
            f"{target.engine}: no pid files under {target.paths.run}; CPU and memory not measured"
        )
    cfg = put_config(target.profile, settings, chaincode, function, run=run)
    report.results += run_driver(
        python_driver_argv(),
        cfg,
        watch,
        subject=target.engine,
        say=settings.say,
        log_path=target.paths.logs / "bench-ledger-driver.log",
    )


def run_ledger(settings: BenchSettings, engines: list[str] | None = None) -> BenchReport:
    report = BenchReport(
        "ledger",
        cpu_groups=[ENGINE, CHAINCODE, CLIENT],
        mem_groups=[ENGINE],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "chaincode": "smoke Put (Python runtime)",
            "client": "gateway.aio, one connection",
        },
    )
    wanted = engines or ["embedded", "fabric"]
    if settings.attached:
        wanted = wanted[:1]  # a running sandbox is one engine; it decides which
    for run, engine in enumerate(wanted):
        if engine == "fabric" and not settings.attached:
            why = fabric_missing()
            if why is not None:
                report.notes.append(f"real Fabric column skipped: {why}")
                continue
        settings.say(f"ledger: {engine} engine")
        with bench_target(cast(Engine, engine), settings, report) as target:
            measure(target, settings, report, run)
    add_checks(report)
    return report


def add_checks(report: BenchReport) -> None:
    subjects = {r.subject for r in report.results}
    ours = report.best("embedded")
    if ours is None:
        return
    if "fabric" in subjects:
        theirs = report.best("fabric")
        assert theirs is not None
        report.checks.append(
            ratio_check(
                "best tx/s, embedded vs fabric (same run)",
                ours.tps,
                theirs.tps,
                at_least=ref.LEDGER_TPS_TARGET,
            )
        )
        for r in report.results:
            other = report.at("fabric", r.concurrency)
            if r.subject == "embedded" and other is not None:
                report.checks.append(
                    ratio_check(
                        f"tx/s at c={r.concurrency}, embedded vs fabric",
                        r.tps,
                        other.tps,
                        at_least=ref.LEDGER_TPS_TARGET,
                    )
                )
        top = max(r.concurrency for r in report.results if r.subject == "embedded")
        a, b = report.at("embedded", top), report.at("fabric", top)
        if a is not None and b is not None:
            report.checks.append(
                ratio_check(
                    f"peak RSS MiB at c={top}, embedded vs fabric peers+orderer",
                    a.hwm_mib(ENGINE),
                    b.hwm_mib(ENGINE),
                    at_most=ref.LEDGER_MEMORY_TARGET,
                )
            )
        return
    report.reference_label = ref.SOURCE
    report.reference = list(ref.FABRIC_LEDGER)
    report.checks.append(
        ratio_check(
            "best tx/s, embedded vs published Fabric best",
            ours.tps,
            ref.FABRIC_BEST_TPS,
            at_least=ref.LEDGER_TPS_TARGET,
        )
    )
    for r in report.results:
        pub = ref.reference_at(r.concurrency)
        if r.subject == "embedded" and pub is not None and pub.tps is not None:
            report.checks.append(
                ratio_check(
                    f"tx/s at c={r.concurrency}, embedded vs published Fabric",
                    r.tps,
                    pub.tps,
                    at_least=ref.LEDGER_TPS_TARGET,
                )
            )
    at100 = report.at("embedded", 100) or max(
        (r for r in report.results if r.subject == "embedded"), key=lambda r: r.concurrency
    )
    report.checks.append(
        ratio_check(
            f"peak RSS MiB at c={at100.concurrency}, embedded engine vs published Fabric "
            "peers+orderer at c=100",
            at100.hwm_mib(ENGINE),
            ref.FABRIC_RSS_MIB,
            at_most=ref.LEDGER_MEMORY_TARGET,
        )
    )
    cpu = at100.cpu_per_tx(ENGINE)
    report.notes.append(
        "engine CPU per tx at c={}: {} ms (published Fabric peers+orderer: {} ms; no target)".format(
            at100.concurrency, "-" if cpu is None else f"{cpu * 1000:.2f}", ref.FABRIC_CPU_MS_PER_TX
        )
    )


__all__ = ["fabric_missing", "run_ledger"]
