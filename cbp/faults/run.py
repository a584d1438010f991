"""A whole faults run on a running sandbox: the kills, the hostile input, the matrix.

`cbp bench faults` calls `run_faults` on a sandbox it started (or one given with `--home`);
the `faults` test tier calls the same parts one by one and asserts on what they return.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbp.faults import contracts, wire
from cbp.faults.connector_fault import run_connector_fault
from cbp.faults.kills import FaultResult, run_fault
from cbp.faults.ledgercheck import check, heights
from cbp.faults.load import Load
from cbp.faults.observe import LogMarks, snapshot
from cbp.faults.report import Family, FaultsReport, family_from_contracts
from cbp.faults.tenants import run_matrix
from cbp.faults.workloads import Workload, prepare, workloads
from network.identities import CryptoLayout
from network.paths import SandboxPaths
from network.processes import Supervisor
from network.topology import Topology
from network.watchdog import read_state

Say = Callable[[str], None]
PARTS = ("kills", "input", "tenants")
EMBEDDED = "embedded-engine"
HOST_PEER = "peer0.bsphost.cbp.local"
# who calls the transactions a contract keeps for one role (the rest: the chaincode's default)
CALLERS = {"registry": "bsp1", "trading": "evusers", "smoke": "bsp1"}
ROLE_CALLERS = {
    ("trading", "SetMarketParameters"): "infraop",
    ("trading", "ConfirmTrades"): "infraop",
    ("trading", "RejectTrade"): "infraop",
}


@dataclass(frozen=True)
class FaultsSettings:
    kills: int = 2  # random kills per process; one more right after a block
    concurrency: int = 50
    per_method: int = 40  # byte mutations per gRPC method
    examples: int = 8  # bad calls per contract transaction
    seed: int = 0
    parts: tuple[str, ...] = PARTS
    say: Say = lambda _m: None


# ---- kills ------------------------------------------------------------------------------------


def raft_leader(topology: Topology, channel: str) -> str | None:
    """The orderer leading `channel`'s Raft group, from the nodes' Prometheus metrics."""
    for o in topology.orderers:
        try:
            url = f"http://{topology.host}:{o.operations_port}/metrics"
            with urllib.request.urlopen(url, timeout=3) as reply:
                text = reply.read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("consensus_etcdraft_is_leader") and f'channel="{channel}"' in line:
                if line.rsplit(" ", 1)[-1].strip() in ("1", "1.0"):
                    return o.host
    return None


def fault_targets(
    paths: SandboxPaths, topology: Topology, engine: str
) -> list[tuple[str, str, str]]:
    """(fault, process, workload) for every process this sandbox runs that a kill can test."""
    running = {r.name for r in Supervisor(paths).running()}
    out: list[tuple[str, str, str]] = []
    if engine == "embedded":
        # the engine runs as a core (orderer and ledgers) and a process per peer: each dies alone
        out.append(("engine core", EMBEDDED, "smoke"))
        out.append(("peer process (BSP host)", HOST_PEER, "smoke"))
    else:
        if len(topology.orderers) > 1:
            out.append(("orderer (Raft leader)", "raft-leader", "smoke"))
        out.append(("host peer (BSP host)", HOST_PEER, "smoke"))
    for cc in ("registry", "trading", "smoke"):
        if f"chaincode-{cc}" in running:
            out.append((f"chaincode server {cc}", f"chaincode-{cc}", cc))
    return out


async def _control(
    paths: SandboxPaths, workload: Workload, settings: FaultsSettings
) -> FaultResult:
    """The same load for a few seconds with nothing killed: what the counts are without a fault."""
    profile = paths.connection_profile
    start = min((await heights(profile, workload.channel)).values())
    load = Load(profile, workload, settings.concurrency)
    driving = asyncio.create_task(load.drive())
    await asyncio.sleep(4.0)
    load.stopping.set()
    run = await driving
    counts = await check(profile, run, start)
    return FaultResult("no fault (control)", "-", "control", counts, None, None, 0)


async def run_kills(
    paths: SandboxPaths,
    topology: Topology,
    engine: str,
    settings: FaultsSettings,
    report: FaultsReport,
) -> None:
    say = settings.say
    ws = workloads(topology)
    for w in ws.values():
        await prepare(w, paths.connection_profile)
    report.faults.append(await _control(paths, ws["smoke"], settings))
    say(f"control: {report.faults[-1].counts.acknowledged} acknowledged with no fault")
    for fault, process, wname in fault_targets(paths, topology, engine):
        for when in ["random"] * settings.kills + ["after block"]:
            target = process
            if process == "raft-leader":
                target = raft_leader(topology, ws[wname].channel) or topology.orderers[0].host
            report.faults.append(
                await run_fault(
                    paths,
                    ws[wname],
                    target,
                    fault=fault,
                    when=when,
                    concurrency=settings.concurrency,
                    say=say,
                )
            )
    org = "bsp1"
    port = topology.orgs[org].connector_port
    if port and Supervisor(paths).is_running(f"connector-{org}"):
        for when in ["random"] * settings.kills + ["after block"]:
            report.faults.append(
                await run_connector_fault(
                    paths,
                    org,
                    f"http://{topology.host}:{port}",
                    topology.orgs["areti"].eic or "",
                    when=when,
                    concurrency=min(20, settings.concurrency),
                    say=say,
                )
            )


# ---- hostile input ------------------------------------------------------------------------------


def _processes(paths: SandboxPaths) -> dict[str, int]:
    return {r.name: r.pid for r in Supervisor(paths).running() if r.name != "watchdog"}


def _family(name: str, verdicts: list[wire.Verdict], tracebacks: int) -> Family:
    fam = Family(name, tried=len(verdicts), tracebacks=tracebacks)
    for v in verdicts:
        fam.codes[v.code] += 1
        if v.verdict == "refused":
            fam.refused += 1
        elif v.verdict == "accepted":
            fam.accepted += 1
        elif v.verdict == "hang":
            fam.hangs += 1
        else:
            fam.unclean += 1
        if v.verdict in ("unclean", "hang"):
            fam.examples.append(f"{v.input.method.short} {v.input.label}: {v.code}")
    return fam


def contract_gateways(
    profile: Path, topology: Topology
) -> tuple[list[Any], dict[tuple[str, str], Any]]:
    """Sync gateway contracts for every (chaincode, caller org) the contract inputs use."""
    from gateway import from_profile

    channel_of = {
        cc: next(ch for ch, c in topology.channels.items() if cc in c.chaincodes) for cc in CALLERS
    }
    gateways: dict[str, Any] = {}
    out: dict[tuple[str, str], Any] = {}
    for cc in CALLERS:
        for org in {CALLERS[cc], *(o for (c, _), o in ROLE_CALLERS.items() if c == cc)}:
            if org not in gateways:
                gateways[org] = from_profile(org, "User1", profile)
            out[(cc, org)] = gateways[org].get_network(channel_of[cc]).get_contract(cc)
    return list(gateways.values()), out


def _explorer(
    tx: contracts.Transaction, target: Any, examples: int, results: list[contracts.Refusal]
) -> Any:
    """A hypothesis-driven function sending `examples` bad calls of `tx` (no shrinking: the
    bench records what happened; the tests assert)."""
    from hypothesis import Phase, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate])
    @given(st.data())
    def explore(data: Any) -> None:
        results.append(contracts.send(target, data.draw(contracts.bad_calls(tx))))

    return explore


def contract_inputs(
    paths: SandboxPaths, topology: Topology, examples: int, seed: int
) -> list[contracts.Refusal]:
    """`examples` bad calls of every transaction of every contract, drawn by hypothesis."""
    from hypothesis import seed as fixed_seed

    gateways, by_caller = contract_gateways(paths.connection_profile, topology)
    results: list[contracts.Refusal] = []
    try:
        for cc in CALLERS:
            for tx in contracts.transactions(topology, cc):
                caller = ROLE_CALLERS.get((cc, tx.name), CALLERS[cc])
                target = {cc: by_caller[(cc, caller)]}
                fixed_seed(seed)(_explorer(tx, target, examples, results))()
    finally:
        for gw in gateways:
            gw.close()
    return results


async def run_input(
    paths: SandboxPaths, topology: Topology, settings: FaultsSettings, report: FaultsReport
) -> None:
    say = settings.say
    ca_dir = CryptoLayout(topology, paths.crypto).ca_cert("bsp1").parent
    bases, forged = await wire.make_bases(paths.connection_profile, ca_dir)
    before = await snapshot(paths)
    pids = _processes(paths)
    restarts = {n: e.get("restarts", 0) for n, e in read_state(paths).items()}
    report.peers_compared = sum(len(p) for p in before.heights.values())
    control = [
        wire.WireInput("control", m, "valid request", bases.request(m))
        for m in wire.METHODS
        if m.path.rsplit("/", 1)[-1] not in ("Submit", "Broadcast")
    ]
    marks = LogMarks.now(paths)
    verdicts = (await wire.run_inputs(paths.connection_profile, control)).verdicts
    report.families.append(_family("valid (control)", verdicts, sum(marks.tracebacks().values())))
    rng = random.Random(settings.seed)
    groups = {
        "bytes": list(wire.byte_inputs(bases, rng, settings.per_method)),
        "nested": list(wire.nested_inputs(bases, rng)),
        "identity": list(wire.identity_inputs(bases, forged)),
        "replay": list(wire.replay_inputs(bases)),
        "oversize": list(wire.oversize_inputs(bases)),
    }
    for name, inputs in groups.items():
        marks = LogMarks.now(paths)
        t0 = time.monotonic()
        verdicts = (
            await wire.run_inputs(
                paths.connection_profile, inputs, concurrency=1 if name == "oversize" else 8
            )
        ).verdicts
        report.families.append(_family(name, verdicts, sum(marks.tracebacks().values())))
        say(f"input: {name}: {len(inputs)} sent in {time.monotonic() - t0:.1f} s")
    marks = LogMarks.now(paths)
    t0 = time.monotonic()
    refusals = await asyncio.to_thread(
        contract_inputs, paths, topology, settings.examples, settings.seed
    )
    report.families.append(
        family_from_contracts("contract arguments", refusals, sum(marks.tracebacks().values()))
    )
    say(f"input: contract arguments: {len(refusals)} sent in {time.monotonic() - t0:.1f} s")
    after = await snapshot(paths)
    report.state_changes += before.differences(after)
    report.replays = await wire.replay_submissions(paths.connection_profile, bases)
    replayed = await snapshot(paths)
    report.state_changes += [
        f"{where}: world state changed by a replayed submission"
        for where, digest in after.state.items()
        if replayed.state.get(where) != digest
    ]
    now = _processes(paths)
    report.crashed += [n for n, pid in pids.items() if now.get(n) != pid]
    report.crashed += [
        f"{n} (restarted by the watchdog)"
        for n, e in read_state(paths).items()
        if e.get("restarts", 0) != restarts.get(n, 0)
    ]


async def run_faults(
    paths: SandboxPaths, topology: Topology, engine: str, settings: FaultsSettings
) -> FaultsReport:
    report = FaultsReport(engine=engine, concurrency=settings.concurrency)
    if engine != "embedded":
        report.notes.append("world state is compared on the embedded engine only (heights on both)")
    if "input" in settings.parts:
        await run_input(paths, topology, settings, report)
    if "tenants" in settings.parts:
        report.cells = await run_matrix(paths.connection_profile, topology, settings.say)
    if "kills" in settings.parts:
        await run_kills(paths, topology, engine, settings, report)
    return report


def write_json(report: FaultsReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_json(), indent=2, default=str))
