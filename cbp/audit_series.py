"""`cbp audit series CHANNEL SERIES_ID --file PATH [--activation ID ...]`: check a measurement
series against its anchor on the ledger, and redo the verifications that used it.

The file (an ESMP series, as a connector exports it or in any JSON layout of the same series)
is put in its canonical form; its SHA-256, size, interval, resolution and energy per 15-minute
step must be the anchor's. For each activation named, the verification is recomputed from the
file with the chaincode's own arithmetic and compared with what the TSO recorded.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cbp.errors import CliError
from chaincode.registry import verification
from chaincode.registry.markettime import parse, steps_between
from connector import esmp
from gateway import GatewayError, from_profile


def _words(exc: GatewayError) -> str:
    """The chaincode's own refusal when there is one, else the gateway's first line."""
    found = re.search(r"chaincode response \d{3}, ([^\n]*)", str(exc))
    return found.group(1) if found else str(exc).splitlines()[0]


def _compare(anchor: dict[str, Any], fp: esmp.Fingerprint) -> list[str]:
    """Every way the file differs from the anchor, in words."""
    found = fp.anchor()
    gaps = []
    for name in ("sha256", "size", "resolution", "start", "end", "points"):
        if anchor.get(name) != found[name]:
            gaps.append(f"{name}: ledger {anchor.get(name)}, file {found[name]}")
    if anchor.get("stepEnergies") != found["stepEnergies"]:
        pairs = zip(anchor["stepEnergies"], found["stepEnergies"], strict=False)  # may differ
        steps = [i for i, (a, b) in enumerate(pairs, 1) if a != b]
        gaps.append(f"energy per step differs at steps {steps[:8] or 'beyond the shorter'}")
    return gaps


def _redo(activation: dict[str, Any], series_id: str, fp: esmp.Fingerprint) -> str:
    """The verification of ``activation`` recomputed from the file (the aggregate's)."""
    recorded = activation.get("verification")
    label = f"activation {activation['activationId']}"
    if not recorded:
        return f"{label}: not verified yet; nothing to compare"
    if series_id not in {s["seriesId"] for s in recorded.get("series", [])}:
        return f"{label}: its verification did not use series {series_id}"
    first = verification.baseline_step(parse(activation["sentAt"]))
    start = steps_between(parse(fp.start), first)
    end = steps_between(parse(fp.start), parse(activation["end"]))
    used = fp.step_energies[start:end]
    n = int(activation["durationMinutes"]) // 15
    again = verification.assess(
        activation["direction"], float(activation["power"]), used[0], used[-n:]
    )
    same = all(
        again[k] == recorded[k] for k in ("baselineKw", "requestedKwh", "deliveredKwh", "ratio")
    )
    verdict = (
        "as recorded"
        if same
        else (f"RECORDED {recorded['deliveredKwh']:g} kWh ({recorded['ratio']:.2%})")
    )
    return (
        f"{label}: recomputed {again['deliveredKwh']:g} of {again['requestedKwh']:g} kWh "
        f"({again['ratio']:.2%}) against a {again['baselineKw']:g} kW baseline, {verdict}"
    )


def cmd_series(
    args: argparse.Namespace, check_identity: Callable[[argparse.Namespace], object]
) -> int:
    """The file is judged first (no connection needed), then channel, org and user."""
    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(
            f"cannot read {args.file}: {exc.strerror}; --file names the series as exported"
        ) from None
    try:
        content, fp = esmp.fingerprint(esmp.parse(raw))
    except (esmp.SeriesError, ValueError) as exc:
        raise CliError(f"{args.file} is not a measurement series: {exc}") from None
    check_identity(args)
    try:
        with from_profile(args.org, args.user, args.profile) as gw:
            contract = gw.get_network(args.channel).get_contract(args.chaincode)
            anchor = json.loads(contract.evaluate_transaction("ReadSeries", args.target))
            activations = [
                json.loads(contract.evaluate_transaction("ReadActivation", a))
                for a in args.activation or []
            ]
    except GatewayError as exc:
        if exc.code == "UNAVAILABLE":
            raise  # the CLI's boundary says the sandbox does not answer
        raise CliError(_words(exc)) from None
    gaps = _compare(anchor, fp)
    lines = [_redo(a, args.target, fp) for a in activations] if not gaps else []
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not gaps,
                    "series": args.target,
                    "sha256": fp.sha256,
                    "anchoredIn": anchor.get("lastTxId"),
                    "differences": gaps,
                    "verifications": lines,
                },
                indent=2,
                sort_keys=True,
            )
        )
    elif gaps:
        print(f"FAILED: {args.file} is not series {args.target} as anchored on {args.channel}:")
        for gap in gaps:
            print(f"  {gap}")
    else:
        print(
            f"OK: {args.file} is series {args.target} as anchored in transaction "
            f"{anchor.get('lastTxId')} ({fp.sha256[:16]}..., {len(content)} bytes, "
            f"{fp.points} points at {fp.resolution}, {len(fp.step_energies)} step energies)"
        )
        for line in lines:
            print(f"  {line}")
    return 2 if gaps or any("RECORDED" in line for line in lines) else 0
