"""`cbp simulate ...`: the case studies, each registered by its own package.

Every scenario lives in `simulations/<name>/cli.py` and exposes `add_parser(subparsers)`; this
module only gathers them under one `simulate` group, one registration line each.
"""

from __future__ import annotations

from typing import Any


def add_simulate_parser(subparsers: Any) -> None:
    simulate = subparsers.add_parser(
        "simulate",
        help="case studies: EV routing on a residential LV grid; P2P EV energy trading; the "
        "market journey of an EV fleet",
        description="Case studies of the platform, each writing its figures and headline "
        "numbers: routing (the DSO's EV routing service against the nearest charger), p2p "
        "(peer-to-peer EV energy trading, also on the sandbox's ledger), journey (an EV fleet "
        "through the whole market journey, on the sandbox's connectors).",
    )
    scenarios = simulate.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")

    from simulations.routing.cli import add_parser as add_routing

    add_routing(scenarios)

    from simulations.p2p.cli import add_parser as add_p2p

    add_p2p(scenarios)

    from simulations.journey.cli import add_parser as add_journey

    add_journey(scenarios)


__all__ = ["add_simulate_parser"]
