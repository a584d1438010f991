"""`cbp bench ledger`: the embedded engine against real Fabric, same chaincode,
same client, same channel settings.

Both engines get their own fresh sandbox, both started before either is measured (the second
on ports shifted clear of the first's); then at every concurrency level the Python driver
submits `smoke` Put to one engine and then the other, in ABBA order over `--rounds` rounds, so
a machine whose speed drifts during the run weighs on both alike. The engine's CPU is the
embedded engine process, or Fabric's peers plus orderer; the chaincode server is measured
apart, being the same program on both. Without Fabric binaries the real-Fabric column is
skipped with the reason and the published reference is printed instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from cbp.bench import reference as ref
from cbp.bench.paired import Measure, run_paired
from cbp.bench.protocol import DriverConfig
from cbp.bench.report import BenchReport, Check, bound_check, ratio_check
from cbp.bench.runner import CLIENT, Watch, python_driver_argv, run_driver
from cbp.bench.settings import BenchSettings
from cbp.bench.stats import LevelResult
from cbp.bench.target import Target, engine_targets, engines_to_run
from cbp.bench.workloads import SMOKE_PUT, put_config

ENGINE = "engine"
CHAINCODE = "chaincode"

# what one driver run submits: (target, level, run) -> the driver's config
ConfigFor = Callable[[Target, int, int], DriverConfig]


def engine_measure(
    targets: Mapping[str, Target],
    settings: BenchSettings,
    report: BenchReport,
    chaincode: str,
    config_for: ConfigFor,
    log_name: str,
) -> Measure:
    """One driver run at one level against the subject's sandbox, its engine and the
    chaincode server under load watched."""

    def measure(subject: str, level: int, run: int) -> list[LevelResult]:
        target = targets[subject]
        watch = Watch({ENGINE: target.engine_pids(), CHAINCODE: target.chaincode_pid(chaincode)})
        note = f"{subject}: no pid files under {target.paths.run}; CPU and memory not measured"
        if not watch.groups[ENGINE] and note not in report.notes:
            report.notes.append(note)
        return run_driver(
            python_driver_argv(),
            config_for(target, level, run),
            watch,
            subject=subject,
            say=settings.say,
            log_path=target.paths.logs / log_name,
        )

    return measure


def run_engines(
    bench: str,
    settings: BenchSettings,
    report: BenchReport,
    engines: Sequence[str] | None,
    chaincode: str,
    config_for: ConfigFor,
    prepare: Callable[[Target], None] | None = None,
) -> None:
    """Every engine's sandbox up (each `prepare`d), then the levels in ABBA order across the
    engines, rounds pooled per engine and level, into `report.results`."""
    wanted = engines_to_run(settings, engines, report.notes)
    if not wanted:
        return
    with engine_targets(wanted, settings, report) as targets:
        if prepare is not None:
            for target in targets.values():
                prepare(target)
        subjects = list(targets)
        if len(subjects) > 1:
            report.settings["sandboxes"] = (
                ", ".join(f"{s} port offset {t.topology.port_offset}" for s, t in targets.items())
                + ", all up for the whole run"
            )
        settings.say(
            f"{bench}: {' and '.join(subjects)}, {settings.rounds} round(s) per level"
            + (" in ABBA order" if len(subjects) > 1 else "")
        )
        measure = engine_measure(
            targets, settings, report, chaincode, config_for, f"bench-{bench}-driver.log"
        )
        report.results += run_paired(subjects, settings.levels, settings.rounds, measure)


def run_ledger(settings: BenchSettings, engines: list[str] | None = None) -> BenchReport:
    report = BenchReport(
        "ledger",
        cpu_groups=[ENGINE, CHAINCODE, CLIENT],
        mem_groups=[ENGINE],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "rounds": settings.rounds,
            "chaincode": "smoke Put (Python runtime)",
            "client": "gateway.aio, one connection",
        },
    )
    chaincode, function = SMOKE_PUT

    def config_for(target: Target, level: int, run: int) -> DriverConfig:
        return put_config(target.profile, settings, chaincode, function, run=run, levels=[level])

    run_engines("ledger", settings, report, engines, chaincode, config_for)
    add_checks(report)
    return report


def engine_rate_checks(
    report: BenchReport, unit: str, at_least: float, saturated_from: int | None = None
) -> list[Check]:
    """The embedded engine's rate against real Fabric's: best level against best level, then
    at every level both engines ran; from `saturated_from` in flight on, where the machine is
    full, against the higher target of the engine on every core."""
    ours, theirs = report.best("embedded"), report.best("fabric")
    if ours is None or theirs is None:
        return []
    checks = [
        ratio_check(
            f"best {unit}, embedded vs fabric (same run)", ours.tps, theirs.tps, at_least=at_least
        )
    ]
    for r in report.results:
        other = report.at("fabric", r.concurrency)
        if r.subject == "embedded" and other is not None:
            checks.append(
                ratio_check(
                    f"{unit} at c={r.concurrency}, embedded vs fabric",
                    r.tps,
                    other.tps,
                    at_least=(
                        ref.SATURATED_RATIO_TARGET
                        if saturated_from is not None and r.concurrency >= saturated_from
                        else at_least
                    ),
                )
            )
    return checks


def add_checks(report: BenchReport) -> None:
    subjects = {r.subject for r in report.results}
    ours = report.best("embedded")
    if ours is None:
        return
    if "fabric" in subjects:
        theirs = report.best("fabric")
        assert theirs is not None
        report.checks += engine_rate_checks(
            report, "tx/s", ref.LEDGER_TPS_TARGET, ref.LEDGER_SATURATED_FROM
        )
        report.checks += engine_cpu_checks(report, ref.LEDGER_SATURATED_FROM)
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
            if a.pss_mib(ENGINE) and b.pss_mib(ENGINE):
                # the memory the processes occupy, each shared page counted once
                report.checks.append(
                    ratio_check(
                        f"PSS MiB at c={top}, embedded vs fabric peers+orderer",
                        a.pss_mib(ENGINE),
                        b.pss_mib(ENGINE),
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
    report.checks += engine_cpu_checks(report, ref.LEDGER_SATURATED_FROM)
    cpu = at100.cpu_per_tx(ENGINE)
    report.notes.append(
        "engine CPU per tx at c={}: {} ms (published Fabric peers+orderer: {} ms; the target of "
        "{:g} ms is held from c={})".format(
            at100.concurrency,
            "-" if cpu is None else f"{cpu * 1000:.2f}",
            ref.FABRIC_CPU_MS_PER_TX,
            ref.ENGINE_CPU_TARGET_MS,
            ref.LEDGER_SATURATED_FROM,
        )
    )


def engine_cpu_checks(report: BenchReport, saturated_from: int) -> list[Check]:
    """The embedded engine's CPU per committed transaction where the machine fills up."""
    checks = []
    for r in report.results:
        if r.subject == "embedded" and r.concurrency >= saturated_from:
            cpu = r.cpu_per_tx(ENGINE)
            checks.append(
                bound_check(
                    f"engine CPU ms per committed tx at c={r.concurrency}",
                    None if cpu is None else round(cpu * 1000, 2),
                    at_most=ref.ENGINE_CPU_TARGET_MS,
                )
            )
    return checks


__all__ = [
    "engine_cpu_checks",
    "engine_measure",
    "engine_rate_checks",
    "run_engines",
    "run_ledger",
]
