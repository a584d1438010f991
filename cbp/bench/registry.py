"""`cbp bench registry` (issue 7): committed POD registrations per second end to end
(gateway -> engine -> registry chaincode) at each concurrency, with p50/p99.

Before the load, the TSO admits itself (bootstrapping the registry's BNA), BSP1 and Areti on
bsp1-channel, as the registry requires; then BSP1's User1 registers new PODs (IT002E + a unique
number, in Areti's grid), each a complete seed table-3 record, one RegisterPod per transaction.
"""

from __future__ import annotations

import json

from cbp.bench import reference as ref
from cbp.bench.protocol import DriverConfig
from cbp.bench.report import BenchReport, bound_check
from cbp.bench.runner import BenchError, Watch, python_driver_argv, run_driver
from cbp.bench.settings import BenchSettings, Say
from cbp.bench.target import Target, bench_target
from cbp.bench.workloads import CHANNEL, ORG, USER, id_base, pod_template

ENGINE = "engine"
CHAINCODE = "chaincode"
REGISTRY = "registry"
SUBJECT = "registry"
BNA_ORG, DSO_ORG = "tso", "areti"
# Areti's distributor code: the digits after IT in its POD codes (the topology has no field
# for it, and the registry needs it to route PODs to their DSO)
DSO_DISTRIBUTOR_CODE = "002"


def participants(target: Target) -> list[dict[str, str]]:
    """The admissions the registry needs before BSP1 registers PODs in Areti's grid: the BNA
    first (it bootstraps itself), then the BSP and the DSO."""
    out = []
    for key in (BNA_ORG, ORG, DSO_ORG):
        org = target.topology.orgs[key]
        if org.eic is None or org.role is None:
            raise BenchError(f"topology org {key} needs an eic and a role to be admitted")
        p = {"mspId": org.msp_id, "eic": org.eic, "role": org.role, "name": org.name}
        if key == DSO_ORG:
            p["distributorCode"] = DSO_DISTRIBUTOR_CODE
        out.append(p)
    return out


def bootstrap(target: Target, say: Say) -> None:
    """Admit the participants as the TSO's User1; one already admitted is left as it is."""
    from gateway import EndorseError, from_profile

    with from_profile(BNA_ORG, USER, target.profile) as gw:
        contract = gw.get_network(CHANNEL).get_contract(REGISTRY)
        for p in participants(target):
            try:
                contract.submit_transaction("AdmitParticipant", json.dumps(p, sort_keys=True))
                say(f"registry: {p['mspId']} admitted as {p['role']}")
            except EndorseError as exc:
                if "AlreadyExists" not in str(exc) and not any(
                    "AlreadyExists" in d.message for d in exc.details
                ):
                    raise BenchError(f"admitting {p['mspId']} on {CHANNEL} failed: {exc}") from exc
                say(f"registry: {p['mspId']} was already admitted")


def pod_config(target: Target, settings: BenchSettings) -> DriverConfig:
    orgs = target.topology.orgs
    template = pod_template(
        bsp_eic=str(orgs[ORG].eic), tso_eic=str(orgs[BNA_ORG].eic), dso_eic=str(orgs[DSO_ORG].eic)
    )
    return DriverConfig(
        profile=str(target.profile),
        org=ORG,
        user=USER,
        channel=CHANNEL,
        chaincode=REGISTRY,
        function="RegisterPod",
        args=[template],
        id_base=id_base(settings),
        levels=settings.levels,
        duration=settings.duration,
        warmup=settings.warmup,
    )


def run_registry(settings: BenchSettings) -> BenchReport:
    report = BenchReport(
        "registry",
        unit="reg",
        cpu_groups=[ENGINE, CHAINCODE],
        mem_groups=[ENGINE, CHAINCODE],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "transaction": f"registry RegisterPod by {ORG} {USER} on {CHANNEL}",
            "client": "gateway.aio, one connection",
        },
    )
    with bench_target("embedded", settings, report) as target:
        bootstrap(target, settings.say)
        watch = Watch({ENGINE: target.engine_pids(), CHAINCODE: target.chaincode_pid(REGISTRY)})
        report.results += run_driver(
            python_driver_argv(),
            pod_config(target, settings),
            watch,
            SUBJECT,
            settings.say,
            target.paths.logs / "bench-registry-driver.log",
        )
    add_checks(report)
    return report


def add_checks(report: BenchReport) -> None:
    best = report.best(SUBJECT)
    if best is None:
        return
    report.checks.append(
        bound_check(
            f"registrations/s, best level (c={best.concurrency})",
            best.tps,
            at_least=ref.REGISTRY_TPS_TARGET,
        )
    )
    report.checks.append(
        bound_check(f"p50 s at c={best.concurrency}", best.p50, at_most=ref.REGISTRY_P50_TARGET)
    )
    report.checks.append(
        bound_check(f"p99 s at c={best.concurrency}", best.p99, at_most=ref.REGISTRY_P99_TARGET)
    )


__all__ = ["bootstrap", "participants", "run_registry"]
