"""`cbp bench ledger | chaincode | gateway | registry`: throughput, latency, CPU and memory.

Each bench starts its own sandbox in a temporary folder (or drives a running one with
`--home`/`--profile`), warms up, measures a fixed window per concurrency level, prints
progress while it runs and a table at the end (`--json` for machines), and stops every
process it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from cbp.bench.settings import BenchSettings, default_port_offset, parse_cpus, parse_levels
from cbp.console import progress

DEFAULT_LEVELS = {
    "ledger": "1,10,50,100",
    "chaincode": "10,50",
    "gateway": "10,50",
    "registry": "1,10,50",
    "connector": "10,50",
}
ENGINES = ("embedded", "fabric")
_ROUNDS = (
    "windows per {} and level, in ABBA order (who goes first swaps every round and level), "
    "pooled (default 1); more rounds even out a machine whose speed drifts during the run"
)
ROUNDS_HELP = {
    "ledger": _ROUNDS.format("engine"),
    "chaincode": _ROUNDS.format("subject"),
    "gateway": _ROUNDS.format("subject"),
    "registry": _ROUNDS.format("engine"),
    "connector": _ROUNDS.format("path (connector, gateway-direct)"),
}
HELP = {
    "ledger": "embedded engine vs real Fabric (FABRIC_BIN) or its published figures",
    "chaincode": "Python chaincode runtime vs Fabric's Node contract API",
    "gateway": "Python gateway client vs Fabric's Node gateway client",
    "registry": "POD registrations per second end to end, embedded engine vs real Fabric "
    "(FABRIC_BIN)",
    "connector": "registrations/s through the CBP Connector vs gateway-direct; latencies with "
    "50 users and 10,000 PODs in the store; a 1,000-row mass load",
}


def _progress(json_out: bool) -> Callable[[str], None]:
    # progress goes to stderr when stdout carries JSON, so the JSON stays parseable
    return progress("bench", sys.stderr if json_out else None)


def parse_engines(text: str) -> list[str]:
    """`embedded,fabric` -> the engines to measure, in that order."""
    engines = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(
            f"--engines {text!r}: engines are {', '.join(ENGINES)} (got {', '.join(unknown) or 'none'})"
        )
    return engines


def _port_offset(args: argparse.Namespace) -> int:
    """The flag's offset (or CBP_PORT_OFFSET's), checked against the topology up front so that
    a refusal names the flag the user typed rather than the variable."""
    if args.port_offset is None:
        return default_port_offset()
    from network.topology import TopologyError, load_topology

    try:
        load_topology(args.topology, port_offset=args.port_offset)
    except TopologyError as exc:
        rule = str(exc).split(": ", 1)[-1]
        raise ValueError(f"--port-offset {args.port_offset}: {rule}") from None
    offset: int = args.port_offset
    return offset


def settings_from(args: argparse.Namespace) -> BenchSettings:
    return BenchSettings(
        levels=parse_levels(args.concurrency or DEFAULT_LEVELS[args.bench]),
        duration=args.duration,
        warmup=args.warmup,
        port_offset=_port_offset(args),
        home=args.home,
        profile=args.profile,
        topology=args.topology,
        keep=args.keep,
        rounds=args.rounds,
        cpus=parse_cpus(args.cpus) if args.cpus else None,
        say=_progress(args.json),
    )


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_bench(args: argparse.Namespace) -> int:
    from cbp.bench.report import dumps
    from cbp.bench.runner import BenchError
    from cbp.errors import CliError

    try:
        settings = settings_from(args)
        engines = parse_engines(args.engines) if getattr(args, "engines", None) else None
    except ValueError as exc:  # the settings' own checks name the flag and the rule
        raise CliError(str(exc)) from None
    # SIGTERM unwinds like Ctrl-C, so every sandbox process and driver this bench started is
    # stopped by the same `finally` blocks
    previous = signal.signal(signal.SIGTERM, _terminate)
    if settings.cpus:
        # the sandboxes, their launchers and the load drivers inherit the affinity
        os.sched_setaffinity(0, settings.cpus)
        settings.say(f"pinned to CPU(s) {','.join(map(str, settings.cpus))}")
    try:
        report = _run(args.bench, settings, engines)
        if settings.cpus:
            report.settings["cpus"] = ",".join(map(str, settings.cpus))
    except BenchError as exc:  # the bench's own refusals say what to do
        raise CliError(f"{args.bench}: {exc}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(dumps(report))
    else:
        print()
        print(report.to_text())
    return 0


def cmd_floor(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from cbp.bench.floor import measure, to_text, totals
    from cbp.bench.report import describe_machine, machine_info
    from cbp.errors import CliError

    if args.repeat < 10:
        raise CliError(f"--repeat {args.repeat}: give at least 10 repetitions")
    say = _progress(args.json)
    items = measure(args.repeat, say=lambda what: say(f"timing {what}"))
    machine = machine_info()
    if args.json:
        work, with_messages = totals(items)
        out = {
            "machine": machine,
            "items": [{**asdict(i), "us_per_tx": i.us_per_tx} for i in items],
            "floor_us_per_tx": work,
            "floor_with_messages_us_per_tx": with_messages,
        }
        print(json.dumps(out, indent=2))
    else:
        print(to_text(items, describe_machine(machine)))
    return 0


def _run(bench: str, settings: BenchSettings, engines: list[str] | None) -> Any:
    if bench == "ledger":
        from cbp.bench.ledger import run_ledger

        return run_ledger(settings, engines=engines)
    if bench == "chaincode":
        from cbp.bench.chaincode import run_chaincode

        return run_chaincode(settings)
    if bench == "gateway":
        from cbp.bench.gateway import run_gateway

        return run_gateway(settings)
    if bench == "connector":
        from cbp.bench.connector import run_connector

        return run_connector(settings)
    from cbp.bench.registry import run_registry

    return run_registry(settings, engines=engines)


def add_bench_parser(subparsers: Any) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="benchmarks: ledger, chaincode, gateway, registry, connector, routing, dashboard, "
        "faults",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = bench.add_subparsers(dest="bench", required=True)
    for name, text in HELP.items():
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "--concurrency",
            help=f"comma-separated in-flight transactions per level (default {DEFAULT_LEVELS[name]})",
        )
        p.add_argument(
            "--duration", type=float, default=10.0, help="seconds measured per level (default 10)"
        )
        p.add_argument(
            "--warmup",
            type=float,
            default=2.0,
            help="seconds of load before each window (default 2)",
        )
        p.add_argument(
            "--port-offset",
            type=int,
            help="port offset of the bench's own sandbox (default $CBP_PORT_OFFSET or 0)"
            + (
                "; with both engines, Fabric's sandbox runs on a larger offset, its ports clear "
                "of the first's"
                if name in ("ledger", "registry")
                else ""
            ),
        )
        p.add_argument(
            "--home", help="drive the sandbox running in this folder instead of starting one"
        )
        p.add_argument(
            "--profile", help="drive the sandbox of this connection profile instead of starting one"
        )
        p.add_argument("--topology", help="topology file (default network/topology.yaml)")
        p.add_argument(
            "--keep", action="store_true", help="keep the bench's sandbox folder (logs) afterwards"
        )
        p.add_argument(
            "--json", action="store_true", help="print the report as JSON (progress to stderr)"
        )
        p.add_argument(
            "--rounds",
            type=int,
            default=1,
            help=ROUNDS_HELP[name],
        )
        p.add_argument(
            "--cpus",
            help="run the bench and everything it starts (sandboxes, load drivers) on these "
            "CPUs only, e.g. 0 or 0,1 (default: every CPU)",
        )
        if name in ("ledger", "registry"):
            p.add_argument(
                "--engines",
                help="comma-separated engines to measure (default embedded,fabric; fabric is "
                "skipped with the reason when its binaries are missing)",
            )
        p.set_defaults(func=cmd_bench)
    floor = sub.add_parser(
        "floor",
        help="the CPU a committed transaction cannot go below on this machine",
        description="The CPU a committed transaction cannot go below on this machine: its "
        "signature checks and signatures, hashing and state writes, and the protocol's gRPC "
        "messages on the engine's side, each timed on a real transaction's bytes (no sandbox).",
    )
    floor.add_argument(
        "--repeat",
        type=int,
        default=2000,
        help="repetitions of each timed operation (default 2000)",
    )
    floor.add_argument(
        "--json", action="store_true", help="print the figures as JSON (progress to stderr)"
    )
    floor.set_defaults(func=cmd_floor)
    from simulations.routing.cli import add_bench_parser as add_routing_bench

    add_routing_bench(sub)
    from cbp.bench.dashboard import add_parser as add_dashboard_bench

    add_dashboard_bench(sub)
    from cbp.faults.cli import add_faults_parser

    add_faults_parser(sub)


__all__ = ["add_bench_parser"]
