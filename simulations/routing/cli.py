"""The routing commands of `cbp`:

cbp simulate routing [--evs N] [--seed S] [--out DIR] [--day YYYY-MM-DD]
cbp routing serve [--port N] [--clusters N] [--day YYYY-MM-DD]
cbp bench routing [--clients N] [--clusters N] [--duration S] [--port N]
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8700  # plus $CBP_PORT_OFFSET
MAX_EVS = 500


def _say(prefix: str) -> Any:
    def say(msg: str) -> None:
        print(f"[{prefix}] {msg}", flush=True)

    return say


def _fail(cmd: str, msg: str) -> int:
    print(f"cbp {cmd}: error: {msg}", file=sys.stderr)
    return 2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def _default_port() -> int:
    try:
        return DEFAULT_PORT + int(os.environ.get("CBP_PORT_OFFSET", "0"))
    except ValueError:
        return DEFAULT_PORT


# ---- cbp simulate routing ---------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulations.routing.simulate import run_comparison, summary_text, write_outputs

    if not 1 <= args.evs <= MAX_EVS:
        return _fail("simulate routing", f"--evs {args.evs}: the fleet holds 1 to {MAX_EVS} EVs")
    if args.seed < 0:
        return _fail("simulate routing", f"--seed {args.seed}: a seed is 0 or more")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail("simulate routing", f"--out {out} is a file; give a folder for the figures")
    say = _say("routing")
    cmp = run_comparison(evs=args.evs, seed=args.seed, day=args.day, say=say)
    write_outputs(cmp, out, say)
    print()
    print(summary_text(cmp.summary()))
    return 0


def add_parser(subparsers: Any) -> None:
    """`simulate routing`, registered by cbp's `simulate` group."""
    from simulations.routing.scenario import DEFAULT_DAY, DEFAULT_EVS, DEFAULT_SEED

    p = subparsers.add_parser(
        "routing",
        help="a day of EVs on a residential LV grid of Rome: routing service vs nearest charger",
        description="Emulates a day of EV drivers (datafev), sends their requests to the routing "
        "service in arrival order and, separately, sends the same fleet to the nearest free "
        "charger; a power flow per five-minute slot gives transformer and line loading for both. "
        "Prints peak loading, hours over limit and the drivers' cost, and writes summary.json and "
        "PNG figures to --out.",
    )
    p.add_argument(
        "--evs", type=int, default=DEFAULT_EVS, help=f"EVs in the fleet (default {DEFAULT_EVS})"
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"fleet seed (default {DEFAULT_SEED})"
    )
    p.add_argument(
        "--day",
        type=_day,
        default=DEFAULT_DAY,
        help=f"the day (default {DEFAULT_DAY}, a Wednesday)",
    )
    p.add_argument(
        "--out",
        default="routing-out",
        help="folder for summary.json and the figures (default ./routing-out)",
    )
    p.set_defaults(func=cmd_simulate)


# ---- cbp routing serve ------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        return _fail("routing serve", f"--port {args.port}: a port is 1 to 65535")
    import uvicorn

    from simulations.routing.app import create_app
    from simulations.routing.grid import CLUSTERS, RomeGrid, spread_clusters
    from simulations.routing.scenario import horizon_for
    from simulations.routing.service import RoutingService

    try:
        clusters = spread_clusters(args.clusters) if args.clusters else CLUSTERS
    except ValueError as exc:
        return _fail("routing serve", f"--clusters {args.clusters}: {exc}")
    say = _say("routing")
    horizon = horizon_for(args.day)
    say(
        f"grid with {len(clusters)} clusters; DSO forecast by power flow over {horizon.steps} slots"
    )
    model = RomeGrid(clusters=clusters).model(horizon)
    app = create_app(RoutingService(model))
    say(
        f"serving on http://127.0.0.1:{args.port} (horizon {horizon.start.isoformat()} to {horizon.end.isoformat()})"
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def add_routing_parser(subparsers: Any) -> None:
    """`cbp routing serve`."""
    from simulations.routing.scenario import DEFAULT_DAY

    routing = subparsers.add_parser("routing", help="the DSO's EV routing service (HTTP API)")
    sub = routing.add_subparsers(dest="routing_command", required=True)
    p = sub.add_parser(
        "serve",
        help="serve the routing API on 127.0.0.1",
        description="Builds the grid, computes the DSO's forecast by power flow and serves the "
        "routing API (POST /v1/requests; docs at /docs) on 127.0.0.1.",
    )
    p.add_argument(
        "--port",
        type=int,
        default=_default_port(),
        help=f"port (default {DEFAULT_PORT} + $CBP_PORT_OFFSET)",
    )
    p.add_argument(
        "--clusters",
        type=int,
        default=0,
        help="spread this many clusters over the grid instead of the 7 sites",
    )
    p.add_argument(
        "--day",
        type=_day,
        default=DEFAULT_DAY,
        help=f"the day served, 06:00 to 12:00 the next day (default {DEFAULT_DAY})",
    )
    p.set_defaults(func=cmd_serve)


# ---- cbp bench routing ------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> int:
    from simulations.routing.bench import report, run_bench

    if not 1 <= args.clients <= 200:
        return _fail("bench routing", f"--clients {args.clients}: 1 to 200 concurrent clients")
    if not 1 <= args.clusters <= 40:
        return _fail(
            "bench routing", f"--clusters {args.clusters}: 1 to 40 clusters fit on the grid"
        )
    if args.duration <= 0:
        return _fail("bench routing", f"--duration {args.duration}: seconds above 0")
    say = _say("bench")
    results = run_bench(
        port=args.port,
        clients=args.clients,
        clusters=args.clusters,
        duration=args.duration,
        say=say,
    )
    print()
    print(report(results, args.clients, args.clusters))
    return 0


def add_bench_parser(subparsers: Any) -> None:
    """`cbp bench routing`, registered by cbp's `bench` group."""
    text = "routing API: answers per second and p50/p99 latency, MIP vs nearest charger"
    p = subparsers.add_parser("routing", help=text, description=text)
    p.add_argument("--clients", type=int, default=10, help="concurrent clients (default 10)")
    p.add_argument("--clusters", type=int, default=20, help="clusters in range (default 20)")
    p.add_argument(
        "--duration", type=float, default=15.0, help="seconds measured per answer kind (default 15)"
    )
    p.add_argument(
        "--port", type=int, default=_default_port() + 1, help="port of the bench's server"
    )
    p.set_defaults(func=cmd_bench)
