"""`python -m network.embedded --home <CBP_HOME> [--topology path] [--one-tx-per-block]` runs the
engine's core (orderer and ledgers); with `--peer <host>` it runs that peer's process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from hardening.logs import configure as configure_logging
from network.topology import load_topology

from .deploy import DeployError
from .eventloop import run as run_loop
from .peer_process import serve as serve_peer
from .remote import CoreUnavailable
from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m network.embedded", description=__doc__)
    parser.add_argument("--home", required=True, type=Path, help="the sandbox folder (CBP_HOME)")
    parser.add_argument("--topology", type=Path, default=None, help="topology YAML")
    parser.add_argument(
        "--one-tx-per-block", action="store_true", help="cut a block for every transaction"
    )
    parser.add_argument(
        "--peer", default=None, help="run this peer's process (its host name) instead of the core"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    # escaped, capped lines; the log file rotates by size (hardening/logs.py)
    configure_logging(args.log_level)
    topology = load_topology(args.topology)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.peer is not None:
            await serve_peer(args.home, topology, args.peer, stop=stop)
        else:
            await serve(args.home, topology, one_tx_per_block=args.one_tx_per_block, stop=stop)

    try:
        run_loop(run())
    except (DeployError, CoreUnavailable) as exc:  # a refusal to start, in one line
        logging.getLogger("network.embedded").error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
