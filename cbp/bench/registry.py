"""`cbp bench registry`: committed POD registrations per second end to end
(gateway -> engine -> registry chaincode) at each concurrency, with p50/p99, on the embedded
engine and on real Fabric in the same run.

Both engines get their own fresh sandbox, both started before either is measured (the second
on ports shifted clear of the first's); real Fabric is skipped, with the reason, when its
binaries are missing. In each, before the load, the TSO admits itself (bootstrapping the
registry's BNA), BSP1 and Areti on bsp1-channel, as the registry requires; then at every level
BSP1's User1 registers new PODs (IT002E + a unique number, in Areti's grid), each a complete
seed table-3 record, one RegisterPod per transaction, on one engine and then the other in ABBA
order over `--rounds` rounds (`cbp.bench.paired`). The targets are held against the
embedded engine; Fabric's figures say how far they are from what Fabric itself does on the
same machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cbp.bench import reference as ref
from cbp.bench.ledger import engine_rate_checks, run_engines
from cbp.bench.protocol import DriverConfig
from cbp.bench.report import BenchReport, bound_check, fmt_ms, fmt_s
from cbp.bench.runner import BenchError
from cbp.bench.settings import BenchSettings, Say
from cbp.bench.stats import LevelResult
from cbp.bench.target import Target
from cbp.bench.workloads import CHANNEL, ORG, USER, id_base, pod_template

ENGINE = "engine"
CHAINCODE = "chaincode"
REGISTRY = "registry"
EMBEDDED, FABRIC = "embedded", "fabric"
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


def pod_config(
    target: Target, settings: BenchSettings, run: int = 0, levels: list[int] | None = None
) -> DriverConfig:
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
        id_base=id_base(settings, run),
        levels=levels or settings.levels,
        duration=settings.duration,
        warmup=settings.warmup,
    )


def run_registry(settings: BenchSettings, engines: Sequence[str] | None = None) -> BenchReport:
    report = BenchReport(
        "registry",
        unit="reg",
        cpu_groups=[ENGINE, CHAINCODE],
        mem_groups=[ENGINE, CHAINCODE],
        settings={
            "concurrency": ",".join(map(str, settings.levels)),
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "rounds": settings.rounds,
            "transaction": f"registry RegisterPod by {ORG} {USER} on {CHANNEL}",
            "client": "gateway.aio, one connection",
        },
    )

    def config_for(target: Target, level: int, run: int) -> DriverConfig:
        return pod_config(target, settings, run, levels=[level])

    run_engines(
        "registry",
        settings,
        report,
        engines,
        REGISTRY,
        config_for,
        prepare=lambda target: bootstrap(target, settings.say),
    )
    add_checks(report)
    return report


def add_checks(report: BenchReport) -> None:
    """The target bounds on the embedded engine's best level; when real Fabric ran too, the
    embedded engine's rate over Fabric's and whether Fabric itself met the rate target."""
    ours = report.best(EMBEDDED)
    if ours is not None:
        report.checks += [
            bound_check(
                f"registrations/s, best level (c={ours.concurrency})",
                ours.tps,
                at_least=ref.REGISTRY_TPS_TARGET,
            ),
            bound_check(
                f"p50 s at c={ours.concurrency}", ours.p50, at_most=ref.REGISTRY_P50_TARGET
            ),
            bound_check(
                f"p99 s at c={ours.concurrency}", ours.p99, at_most=ref.REGISTRY_P99_TARGET
            ),
        ]
    elif report.results:
        report.notes.append(
            "the targets are held against the embedded engine, not measured in this run"
        )
    theirs = report.best(FABRIC)
    if theirs is None:
        return
    report.checks += engine_rate_checks(
        report, "registrations/s", ref.REGISTRY_FABRIC_RATIO_TARGET, ref.REGISTRY_SATURATED_FROM
    )
    report.notes.append(fabric_verdict(theirs))


def fabric_verdict(best: LevelResult) -> str:
    """One line: whether real Fabric, at its best level of this run, met the target rate
    target."""
    met = best.tps >= ref.REGISTRY_TPS_TARGET
    return (
        f"real Fabric in the same run {'met' if met else 'did NOT meet'} the "
        f">= {ref.REGISTRY_TPS_TARGET:g} registrations/s target: best {best.tps:.1f} reg/s at "
        f"c={best.concurrency}, p50 {fmt_s(best.p50)}, "
        f"peers+orderer CPU {fmt_ms(best.cpu_per_tx(ENGINE))}/reg"
    )


__all__ = [
    "add_checks",
    "bootstrap",
    "fabric_verdict",
    "participants",
    "pod_config",
    "run_registry",
]
