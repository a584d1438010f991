"""`cbp simulate journey [--chargers N] [--seed S] [--day YYYY-MM-DD] [--out DIR]`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

MAX_CHARGERS = 500
DEFAULT_CHARGERS = 100
DEFAULT_SEED = 1
DEFAULT_DAY = date(2026, 4, 15)


def _say(msg: str) -> None:
    print(f"[journey] {msg}", flush=True)


def _fail(msg: str) -> int:
    print(f"cbp simulate journey: error: {msg}", file=sys.stderr)
    return 2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def summary(outcome: Any, total: float) -> dict[str, Any]:
    data = asdict(outcome)
    data.pop("aggregate_kw")
    data["totalSeconds"] = round(total, 1)
    data["phases"] = [{**p, "seconds": round(p["seconds"], 2)} for p in data["phases"]]
    for activation in data["activations"]:
        activation["verification"].pop("series", None)
    return data


def table(outcome: Any) -> str:
    lines = [
        "activation                      window        kW  asked kWh  delivered  ratio  passed"
        "   EUR due"
    ]
    amounts = {line["activationId"]: line for line in outcome.statement.get("lines", [])}
    for a in sorted(outcome.activations, key=lambda a: str(a["start"])):
        v = a["verification"]
        line = amounts.get(a["activationId"], {})
        lines.append(
            f"{a['activationId']:<31} {a['start'][11:16]}-{a['end'][11:16]} {a['power']:>6g} "
            f"{v['requestedKwh']:>10.1f} {v['deliveredKwh']:>10.1f} {v['ratio']:>6.0%} "
            f"{'yes' if v['passed'] else 'no':>7} {line.get('amount', 0.0):>9.2f}"
        )
    totals = outcome.statement.get("totals", {})
    lines.append(
        f"{'total':<58}{totals.get('requestedKwh', 0):>10.1f} "
        f"{totals.get('deliveredKwh', 0):>10.1f} {'':>14} {totals.get('amount', 0.0):>9.2f}"
    )
    return "\n".join(lines)


def cmd_journey(args: argparse.Namespace) -> int:
    if not 1 <= args.chargers <= MAX_CHARGERS:
        return _fail(f"--chargers {args.chargers}: a fleet has 1 to {MAX_CHARGERS} chargers")
    if args.seed < 0:
        return _fail(f"--seed {args.seed}: a seed is 0 or more")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"--out {out} is a file; give a folder for the figure and summary")
    from connector.client import ApiFailure
    from simulations.journey.api import JourneyError
    from simulations.journey.figures import write_figure
    from simulations.journey.journey import Journey

    started = time.monotonic()
    try:
        journey = Journey(args.chargers, args.seed, args.day, _say)
    except ApiFailure as exc:
        if "cbp connector up" in exc.message:
            return _fail(exc.message)
        return _fail(
            f"{exc.message}; the journey runs through the sandbox's connectors: start them with "
            "scripts/sandbox.sh"
        )
    _say(
        f"run {journey.run}: {args.chargers} chargers in {len(journey.sites)} car parks, seed "
        f"{args.seed}, delivery day {args.day}"
    )
    try:
        outcome = journey.run_all()
    except (JourneyError, ApiFailure) as exc:
        return _fail(str(exc))
    finally:
        journey.close()
    total = time.monotonic() - started
    figure = write_figure(outcome, out / "journey.png")
    (out / "summary.json").write_text(json.dumps(summary(outcome, total), indent=2) + "\n")
    print()
    print(table(outcome))
    print()
    print(f"  {'phase':<28} {'seconds':>7} {'ledger transactions':>20}")
    for phase in outcome.phases:
        print(f"  {phase.name:<28} {phase.seconds:>7.1f} {phase.transactions:>20}")
    committed = sum(p.transactions for p in outcome.phases)
    print(f"  {'whole run':<28} {total:>7.1f} {committed:>20}")
    print(f"\nfigure: {figure}\nsummary: {out / 'summary.json'}")
    return 0


def add_parser(subparsers: Any) -> None:
    """`simulate journey`, registered by cbp's `simulate` group."""
    p = subparsers.add_parser(
        "journey",
        help="the market journey of an EV fleet through the connectors: register, qualify, "
        "bid, activate, measure, verify, settle",
        description="Runs an EV fleet of Rome car parks through the whole market journey on the "
        "running sandbox's connectors (start them with scripts/sandbox.sh): BSP 1 registers the "
        "car parks' PODs and chargers, the TSO and Areti validate them, the TSO qualifies their "
        "UVAM; on a demo clock the BSP bids the day, the TSO activates it several times, the "
        "fleet answers with realistic shortfalls, a day of 60 s series of every charger, the "
        "aggregate and the PODs is uploaded and anchored, each activation is verified and the "
        "day settled. Prints each phase's outcome and duration; writes journey.png (requested "
        "vs delivered per activation) and summary.json to --out.",
    )
    p.add_argument(
        "--chargers",
        type=int,
        default=DEFAULT_CHARGERS,
        help=f"EV chargers in the fleet, about ten per car park (default {DEFAULT_CHARGERS})",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"fleet seed (default {DEFAULT_SEED})"
    )
    p.add_argument(
        "--day", type=_day, default=DEFAULT_DAY, help=f"the delivery day (default {DEFAULT_DAY})"
    )
    p.add_argument(
        "--out",
        default="journey-out",
        help="folder for journey.png and summary.json (default ./journey-out)",
    )
    p.set_defaults(func=cmd_journey)
