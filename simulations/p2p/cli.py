"""`cbp simulate p2p`: the peer-to-peer EV energy trading case study, optionally on the ledger.

It draws a parking lot of EVs, matches buyers to sellers (optimally, with HiGHS; the greedy
rule beside it for comparison), simulates the day slot by slot, and writes into --out the four
figures, trades.csv and summary.json, then prints the headline numbers. With --ledger it runs
the market on the running sandbox through the gateway: the operator sets the market
parameters, every EV is declared, every trade submitted by its buyer, confirmed (or rejected)
in batches by the operator, and the ledger's confirmed trades are checked against the CSV.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

COMMAND = "cbp simulate p2p"


def _say(msg: str) -> None:
    print(f"[p2p] {msg}", flush=True)


def _fail(msg: str) -> int:
    print(f"{COMMAND}: error: {msg}", file=sys.stderr)
    return 2


def _price(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a price in EUR/kWh (e.g. 0.15)"
        ) from None


def _settings_error(exc: ValidationError) -> str:
    names = {
        "evs": "--evs",
        "seed": "--seed",
        "buy_threshold_pct": "--buy-threshold",
        "sell_threshold_pct": "--sell-threshold",
        "price_eur_per_kwh": "--price",
        "charger_kw": "--charger-kw",
        "objective": "--objective",
    }
    err = exc.errors()[0]
    message = str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:  # a rule between settings (the thresholds)
        return f"{message}; lower --buy-threshold or raise --sell-threshold"
    flag = names.get(str(err["loc"][0]), str(err["loc"][0]))
    return f"{flag} {err.get('input')}: {message[0].lower()}{message[1:]}"


def print_report(case: Any) -> None:
    h = case.headline()
    print()
    print(
        f"{h['evs']} EVs: {h['buyers']} buyers need {h['requiredKwh']:.1f} kWh, "
        f"{h['sellers']} sellers offer {h['availableKwh']:.1f} kWh, {h['neutral']} neutral"
    )
    print(
        f"  peak grid load          {h['peakGridOnlyKw']:.1f} kW grid only (at {h['peakGridOnlyAt']})"
        f" -> {h['peakWithP2pKw']:.1f} kW with P2P (-{h['peakReductionPct']} %)"
    )
    print(
        f"  energy traded           {h['deliveredKwh']:.1f} kWh delivered of {h['agreedKwh']:.1f}"
        f" kWh agreed, {h['trades']} trades"
    )
    print(
        f"  buyers' cost            {h['buyersGridOnlyEur']} EUR grid only -> "
        f"{h['buyersWithP2pEur']} EUR with P2P (saving {h['buyersSavingEur']} EUR, "
        f"{h['buyersSavingPct']} %)"
    )
    print(f"  sellers' revenue        {h['sellersRevenueEur']} EUR")
    print()
    print(
        "matching                 trades  agreed kWh  delivered kWh  peak kW  buyers EUR  sellers EUR  solve s"
    )
    for row in case.comparison():
        print(
            f"  {row['matching']:<22} {row['trades']:>6}  {row['agreedKwh']:>10.1f}  "
            f"{row['deliveredKwh']:>13.1f}  {row['peakKw']:>7.1f}  {row['buyersEur']:>10}  "
            f"{row['sellersEur']:>11}  {row['seconds']:>7.3f}"
        )


def print_sweep(rows: list[dict[str, Any]], fleets: int) -> None:
    print()
    title = f"mean over {fleets} fleets"
    print(f"{title:<25}saving EUR  delivered %  peak kW  trades  solve s")
    for r in rows:
        print(
            f"  {r['matching']:<22} {r['buyersSavingEur']:>10.2f}  {r['deliveredPct']:>11.2f}  "
            f"{r['peakKw']:>7.1f}  {r['trades']:>6.1f}  {r['seconds']:>7.3f}"
        )
    print(f"  {'grid only':<22} {0:>10.2f}  {'':>11}  {rows[0]['peakGridOnlyKw']:>7.1f}")


def cmd_p2p(args: argparse.Namespace) -> int:
    from .scenario import CaseSettings

    try:
        settings = CaseSettings(
            evs=args.evs,
            seed=args.seed,
            buy_threshold_pct=args.buy_threshold,
            sell_threshold_pct=args.sell_threshold,
            price_eur_per_kwh=args.price,
            charger_kw=args.charger_kw,
            objective=args.objective,
        )
    except ValidationError as exc:
        return _fail(_settings_error(exc))
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"--out {out}: cannot create the folder ({exc.strerror}); choose another")
    if not 1 <= args.batch_size <= 500:
        return _fail(f"--batch-size {args.batch_size} must be between 1 and 500")
    if not 1 <= args.concurrency <= 500:
        return _fail(f"--concurrency {args.concurrency} must be between 1 and 500")
    if not 0 <= args.sweep <= 100:
        return _fail(f"--sweep {args.sweep} must be between 0 and 100")

    from .figures import write_figures
    from .results import run_case, trade_rows, write_csv, write_summary

    _say(
        f"{settings.evs} EVs, seed {settings.seed}: matching buyers to sellers "
        f"(optimal for {settings.objective.value}, with HiGHS; greedy beside it)"
    )
    case = run_case(settings)
    rows = trade_rows(case)
    write_csv(rows, out / "trades.csv")
    _say(f"writing figures into {out}")
    figures = write_figures(case, out)
    ledger_summary: dict[str, Any] | None = None
    if args.ledger:
        from .ledger import LedgerRunError, run_on_ledger

        try:
            report = run_on_ledger(
                case,
                profile=args.profile,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                say=_say,
            )
        except LedgerRunError as exc:
            print(f"{COMMAND}: error: {exc}", file=sys.stderr)
            return 1
        write_csv(report.rows, out / "trades.csv")  # with the run's ledger ids
        ledger_summary = {"ledger": report.as_json()}
    sweep_rows = None
    if args.sweep:
        from .results import sweep

        _say(
            f"sweep: {args.sweep} more fleets (seeds {settings.seed + 1}..{settings.seed + args.sweep})"
        )
        sweep_rows = sweep(case, args.sweep)
    extra = {**(ledger_summary or {}), **({"sweep": sweep_rows} if sweep_rows else {})}
    write_summary(case, out / "summary.json", extra)
    print_report(case)
    if sweep_rows:
        print_sweep(sweep_rows, args.sweep + 1)
    if ledger_summary:
        print()
        print(report.to_text())
    print()
    for path in [*figures, out / "trades.csv", out / "summary.json"]:
        print(f"  wrote {path}")
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "p2p",
        help="peer-to-peer EV energy trading in a parking lot: figures, trades, headline numbers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--evs", type=int, default=100, help="EVs in the lot, 2-2000 (default 100)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the fleet (default 1)")
    p.add_argument(
        "--out",
        default="p2p-results",
        help="folder for the figures, trades.csv and summary.json (default ./p2p-results)",
    )
    p.add_argument(
        "--objective",
        choices=["cost", "energy"],
        default="cost",
        help="what the optimal matching maximises: cost = buyers' saving against the grid "
        "tariff they would pay on arrival (default), energy = energy traded; either prefers "
        "pairs parked together longest among equal choices",
    )
    p.add_argument(
        "--sweep",
        type=int,
        default=0,
        metavar="K",
        help="also run K more fleets (seeds S+1..S+K) and print each matching's mean outcome "
        "over all K+1 (no figures for them)",
    )
    p.add_argument(
        "--price", type=_price, default=Decimal("0.15"), help="P2P price, EUR/kWh (default 0.15)"
    )
    p.add_argument(
        "--buy-threshold",
        type=int,
        default=70,
        help="T_b: an EV below this SoC %% buys (default 70)",
    )
    p.add_argument(
        "--sell-threshold",
        type=int,
        default=75,
        help="T_s: an EV above this SoC %% sells (default 75)",
    )
    p.add_argument("--charger-kw", type=int, default=11, help="charger power, kW (default 11)")
    ledger = p.add_argument_group("on the ledger (--ledger)")
    ledger.add_argument(
        "--ledger",
        action="store_true",
        help="run the market on the running sandbox (cbp network up) and check it against the CSV",
    )
    ledger.add_argument(
        "--profile",
        help="connection profile of the sandbox (default $CBP_HOME/connection-profile.json)",
    )
    ledger.add_argument(
        "--batch-size",
        type=int,
        default=250,
        help="trades the operator confirms per transaction, 1-500 (default 250)",
    )
    ledger.add_argument(
        "--concurrency",
        type=int,
        default=100,
        help="transactions in flight at once (default 100)",
    )
    p.set_defaults(func=cmd_p2p)
