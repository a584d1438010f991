"""`cbp bench faults`: processes killed under load, hostile input, the cross-tenant matrix.

Starts its own sandbox in a temporary folder (embedded engine by default; `--engine fabric
--raft 3` for real Fabric with a Raft leader to kill), with one connector, unless `--home`
names a running one. Prints, per fault, what was acknowledged, lost (must be 0), doubled
(must be 0), left in limbo and how long recovery took, beside a control run with no fault;
per family of bad input, what was tried, refused cleanly and how many tracebacks were logged
(must be 0), beside valid requests as the control; and the cross-tenant matrix. Exits 1 when
any promise is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cbp.errors import CliError
from cbp.faults.run import PARTS, FaultsSettings

HELP = "kill -9 under load (engine, chaincode servers, a connector), hostile input, tenants"


def _say(json_out: bool) -> Any:
    stream = sys.stderr if json_out else sys.stdout

    def say(msg: str) -> None:
        print(f"[bench] {msg}", file=stream, flush=True)

    return say


def _parts(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise CliError(f"--only {text!r}: parts are {', '.join(PARTS)}")
    return parts


@contextmanager
def _sandbox(args: argparse.Namespace, say: Any) -> Iterator[tuple[Any, Any, str]]:
    from cbp.connector_cli import start_connectors
    from connector.bootstrap import admit_all
    from network.paths import sandbox_paths
    from network.sandbox import Sandbox
    from network.topology import TopologyError, load_topology

    if args.home:
        paths = sandbox_paths(args.home)
        if not paths.connection_profile.exists():
            raise CliError(f"no sandbox in {paths.home}: start one there with `cbp network up`")
        engine = (
            (paths.run / "engine").read_text().strip()
            if (paths.run / "engine").exists()
            else "embedded"
        )
        yield paths, load_topology(raft_nodes=args.raft), engine
        return
    from cbp.bench.settings import default_port_offset

    try:
        offset = args.port_offset if args.port_offset is not None else default_port_offset()
        topology = load_topology(port_offset=offset, raft_nodes=args.raft)
    except TopologyError as exc:  # out of range: name the flag the user typed, if any
        if args.port_offset is None:
            raise
        rule = str(exc).split(": ", 1)[-1]
        raise CliError(f"--port-offset {args.port_offset}: {rule}") from None
    except ValueError as exc:  # CBP_PORT_OFFSET not a number: names the variable
        raise CliError(str(exc)) from None
    home = Path(tempfile.mkdtemp(prefix="cbp-bench-faults-"))
    paths = sandbox_paths(home)
    sb = Sandbox(topology, paths, say=lambda m: say(f"sandbox: {m}"))
    try:
        sb.up(engine=args.engine)
        asyncio.run(admit_all(paths.connection_profile))
        org = "bsp1"
        port = topology.orgs[org].connector_port
        if port and args.engine == "embedded":
            start_connectors(paths, {org: port}, say)
        yield paths, topology, args.engine
    finally:
        sb.down()
        if args.keep:
            say(f"sandbox folder kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_faults(args: argparse.Namespace) -> int:
    from cbp.faults.run import run_faults

    if args.kills < 0:
        raise CliError(f"--kills {args.kills}: must be 0 or more")
    for flag in ("concurrency", "inputs", "examples"):
        if getattr(args, flag) < 1:
            raise CliError(f"--{flag} {getattr(args, flag)}: must be 1 or more")
    say = _say(args.json)
    settings = FaultsSettings(
        kills=args.kills,
        concurrency=args.concurrency,
        per_method=args.inputs,
        examples=args.examples,
        seed=args.seed,
        parts=_parts(args.only),
        say=say,
    )
    # SIGTERM unwinds like Ctrl-C, so the bench's own sandbox is stopped by `_sandbox`
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with _sandbox(args, say) as (paths, topology, engine):
            report = asyncio.run(run_faults(paths, topology, engine, settings))
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print()
        print(report.to_text())
    return 1 if report.problems() else 0


def add_faults_parser(sub: Any) -> None:
    p = sub.add_parser(
        "faults",
        help=HELP,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--engine",
        choices=["embedded", "fabric"],
        default="embedded",
        help="the bench's own sandbox: embedded (default) or real Fabric (FABRIC_BIN)",
    )
    p.add_argument(
        "--raft",
        type=int,
        choices=[1, 3],
        default=1,
        help="orderer nodes of the bench's own sandbox (3: the Raft leader is killed too)",
    )
    p.add_argument(
        "--home", help="drive the sandbox running in this folder instead of starting one"
    )
    p.add_argument(
        "--port-offset",
        type=int,
        default=None,
        help="port offset of the bench's own sandbox (default $CBP_PORT_OFFSET or 0)",
    )
    p.add_argument(
        "--kills",
        type=int,
        default=2,
        help="kills at a random moment per process (default 2), plus one right after a block",
    )
    p.add_argument(
        "--concurrency", type=int, default=50, help="writers during the kills (default 50)"
    )
    p.add_argument(
        "--inputs",
        type=int,
        default=40,
        help="byte mutations per gRPC method (default 40; the other families are fixed)",
    )
    p.add_argument(
        "--examples",
        type=int,
        default=8,
        help="bad calls per contract transaction, drawn by hypothesis (default 8)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generated inputs (default 0)")
    p.add_argument(
        "--only", default=",".join(PARTS), help=f"parts to run (default {','.join(PARTS)})"
    )
    p.add_argument("--keep", action="store_true", help="keep the bench's sandbox folder (logs)")
    p.add_argument("--json", action="store_true", help="the report as JSON (progress to stderr)")
    p.set_defaults(func=cmd_faults)


__all__ = ["add_faults_parser"]
