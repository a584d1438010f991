"""The `cbp` command: run the sandbox network, query and audit the ledger, benchmark.

Each subcommand is a thin layer over a package's public API: `network` for the sandbox,
`gateway` for ledger queries and audit, `chaincode.runtime` for serving contracts.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from network.paths import sandbox_paths
from network.processes import ProcessError
from network.sandbox import Sandbox, SandboxError
from network.topology import load_topology


def _say(msg: str) -> None:
    print(f"[cbp] {msg}", flush=True)


def _sandbox(args: argparse.Namespace) -> Sandbox:
    topology = load_topology(args.topology, raft_nodes=getattr(args, "raft", 1))
    return Sandbox(topology, sandbox_paths(args.home), say=_say)


def cmd_network(args: argparse.Namespace) -> int:
    sb = _sandbox(args)
    if args.action == "up":
        sb.up(engine=args.engine, one_tx_per_block=args.one_tx_per_block)
        _registry_ready(sb)
        return 0
    if args.action == "down":
        sb.down()
        return 0
    if args.action == "reset":
        sb.reset()
        return 0
    if args.action == "add-peer":
        return _add_peer(sb, args.org)
    st = sb.status()
    heights = _channel_heights(sb) if st.up else {}
    fabric = _engine_status(sb)
    if args.json:
        print(
            json.dumps(
                {
                    "engine": st.engine,
                    "up": st.up,
                    "processes": st.processes,
                    "listeners": st.listeners,
                    "channels": heights,
                    **({"fabric": fabric} if fabric else {}),
                },
                indent=2,
            )
        )
    else:
        print(f"engine: {st.engine or '-'}   state: {'up' if st.up else 'down'}")
        for name, p in st.processes.items():
            print(
                f"  process {name:<28} pid {p['pid']!s:<8} {'alive' if p['alive'] else 'DEAD'}"
                f"   log {p['log']}"
            )
        for name, ok in st.listeners.items():
            print(f"  {name:<36} {'listening' if ok else 'not listening'}")
        for ch, h in heights.items():
            print(f"  channel {ch:<28} height {h}")
        if fabric:
            for name, node in fabric["nodes"].items():
                health = "healthy" if node["healthy"] else node.get("detail", "unhealthy")
                print(f"  node {name:<31} {health}")
            for ch, info in fabric["channels"].items():
                per_node = ", ".join(f"{n} {h}" for n, h in info["heights"].items())
                print(f"  channel {ch:<28} heights: {per_node}")
                for cc, d in info["chaincodes"].items():
                    print(f"    chaincode {cc:<24} {d}")
    return 0 if st.up or args.action == "status" else 1


def _registry_ready(sb: Sandbox) -> None:
    """The BNA admits every participant the topology places on a registry channel (idempotent),
    so that the registry is ready to use as soon as `up` returns."""
    import asyncio
    import time

    from connector.bootstrap import admit_all

    start = time.monotonic()
    asyncio.run(
        admit_all(
            sb.paths.connection_profile,
            say=lambda m: _say(f"{m} ({time.monotonic() - start:.1f} s)"),
        )
    )


def _add_peer(sb: Sandbox, org: str | None) -> int:
    """A real Fabric peer for `org`, joined to its channels (see network/fabric/partner.py)."""
    from network.fabric import BinariesMissing, FabricError, find_binaries
    from network.fabric.partner import PartnerPeers, plan

    def refuse(why: str) -> int:
        print(f"cbp network add-peer: {why}", file=sys.stderr)
        return 2

    if not org:
        return refuse("name the org, e.g. `cbp network add-peer tso`")
    try:
        plan(sb.topology, sb.paths, org)
    except FabricError as exc:
        return refuse(str(exc))
    if not sb.status().up:
        return refuse("the sandbox is not running; start it with `cbp network up`")
    try:
        find_binaries()
    except BinariesMissing as exc:
        return refuse(str(exc))
    try:
        PartnerPeers(sb.topology, sb.paths, say=_say).add(org)
    except FabricError as exc:
        print(f"cbp network add-peer: {exc}", file=sys.stderr)
        return 1
    return 0


def _engine_status(sb: Sandbox) -> dict[str, Any] | None:
    """What the engine adds (the fabric engine: per-node health and heights, committed
    chaincodes)."""
    try:
        return sb.engine_status()
    except Exception as exc:  # status must still print the processes
        return {"nodes": {}, "channels": {}, "error": str(exc)}


def _channel_heights(sb: Sandbox) -> dict[str, int | str]:
    """Each channel's height through the gateway (qscc GetChainInfo), as an org admin sees it."""
    try:
        from cbp.ledger_queries import channel_heights
    except ImportError:
        return {}
    try:
        return channel_heights(sb.topology, sb.paths)
    except Exception as exc:  # status must still print the processes
        return {"error": str(exc)}


def cmd_chaincode(args: argparse.Namespace) -> int:
    from chaincode.runtime.__main__ import main as serve_main

    return int(serve_main(["serve", *args.rest]) or 0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cbp",
        description="Crowd Balancing Platform sandbox: a Hyperledger Fabric network for EV "
        "flexibility (TSO, DSOs, BSPs), its chaincode, ledger queries and benchmarks.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    net = sub.add_parser("network", help="start, inspect, stop or reset the sandbox network")
    net.add_argument(
        "action",
        choices=["up", "status", "down", "reset", "add-peer"],
        help="up: start everything (idempotent); status: nodes, channels, chaincodes; "
        "down: stop every process started; reset: down and delete all data; add-peer ORG: "
        "start a real Fabric peer of ORG ($FABRIC_BIN) that joins ORG's channels",
    )
    net.add_argument("org", nargs="?", help="add-peer: the org key, e.g. tso (see topology.yaml)")
    net.add_argument(
        "--engine",
        choices=["embedded", "fabric"],
        default="embedded",
        help="embedded (default): the project's Fabric-compatible engine; fabric: "
        "real Hyperledger Fabric v3.1 binaries from $FABRIC_BIN or PATH",
    )
    net.add_argument(
        "--raft",
        type=int,
        default=1,
        choices=[1, 3],
        help="number of Raft orderer nodes (fabric engine)",
    )
    net.add_argument(
        "--one-tx-per-block", action="store_true", help="cut a block per transaction (tests)"
    )
    net.add_argument("--json", action="store_true", help="status as JSON")
    net.add_argument("--home", help="sandbox folder (default $CBP_HOME or ./.sandbox)")
    net.add_argument("--topology", help="topology file (default network/topology.yaml)")
    net.set_defaults(func=cmd_network)

    cc = sub.add_parser("chaincode", help="serve Python contracts as chaincode-as-a-service")
    cc.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        help="arguments of `python -m chaincode.runtime serve` (see --help there)",
    )
    cc.set_defaults(func=cmd_chaincode)

    from cbp.connector_cli import add_connector_parser
    from cbp.registry_cli import add_registry_parsers

    add_connector_parser(sub)
    add_registry_parsers(sub)
    try:
        from cbp.audit_cli import add_audit_parser

        add_audit_parser(sub)
    except ImportError:
        pass
    try:
        from cbp.bench_cli import add_bench_parser

        add_bench_parser(sub)
    except ImportError:
        pass
    try:
        from cbp.simulate_cli import add_simulate_parser

        add_simulate_parser(sub)
    except ImportError:
        pass
    try:
        from simulations.routing.cli import add_routing_parser

        add_routing_parser(sub)
    except ImportError:
        pass
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except (SandboxError, ProcessError, FileNotFoundError, ValueError) as exc:
        print(f"cbp: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
