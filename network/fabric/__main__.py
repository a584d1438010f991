"""`python -m network.fabric attach|status`: the fabric engine's steps from the command line.

`attach` is what the docker-compose setup service runs: channels, chaincode lifecycle and
readiness on nodes that the containers run. `status` prints the engine's status as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ..paths import sandbox_paths
from ..topology import load_topology
from . import FabricEngine, FabricError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m network.fabric")
    p.add_argument("action", choices=["attach", "status"])
    p.add_argument("--home", help="sandbox folder (default $CBP_HOME or ./.sandbox)")
    p.add_argument("--topology", help="topology file (default network/topology.yaml)")
    p.add_argument("--raft", type=int, default=1, help="number of Raft orderer nodes")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    engine = FabricEngine(
        load_topology(args.topology, raft_nodes=args.raft),
        sandbox_paths(args.home),
        say=lambda msg: print(f"[fabric] {msg}", flush=True),
    )
    try:
        if args.action == "attach":
            engine.attach()
        else:
            print(json.dumps(engine.status(), indent=2))
    except FabricError as exc:
        print(f"[fabric] error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
