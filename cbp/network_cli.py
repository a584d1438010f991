"""`cbp network up | status | down | reset`: the sandbox network, from one command."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from cbp.console import progress
from cbp.errors import CliError
from network.paths import sandbox_paths
from network.sandbox import Sandbox, Status
from network.topology import load_topology


def _sandbox(args: argparse.Namespace) -> Sandbox:
    topology = load_topology(args.topology, raft_nodes=getattr(args, "raft", 1))
    return Sandbox(topology, sandbox_paths(args.home), say=progress("cbp"))


def cmd_up(args: argparse.Namespace) -> int:
    sb = _sandbox(args)
    sb.up(engine=args.engine, one_tx_per_block=args.one_tx_per_block)
    _registry_ready(sb)
    return 0


def _registry_ready(sb: Sandbox) -> None:
    """The BNA admits every participant the topology places on a registry channel (idempotent),
    so that the registry is ready to use as soon as `up` returns."""
    import asyncio
    import time

    from connector.bootstrap import admit_all

    start = time.monotonic()
    say = progress("cbp")
    asyncio.run(
        admit_all(
            sb.paths.connection_profile,
            say=lambda m: say(f"{m} ({time.monotonic() - start:.1f} s)"),
        )
    )


def cmd_down(args: argparse.Namespace) -> int:
    _sandbox(args).down()
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    _sandbox(args).reset()
    return 0


def cmd_add_peer(args: argparse.Namespace) -> int:
    """A real Fabric peer for an org, joined to its channels (see network/fabric/partner.py)."""
    from network.fabric import find_binaries
    from network.fabric.partner import PartnerPeers, plan

    sb = _sandbox(args)
    plan(sb.topology, sb.paths, args.org)  # an org without peers is refused by name
    if not sb.status().up:
        raise CliError("the sandbox is not running; start it with `cbp network up`")
    find_binaries()  # the binaries' absence is said with where they were looked for
    PartnerPeers(sb.topology, sb.paths, say=progress("cbp")).add(args.org)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    sb = _sandbox(args)
    st = sb.status()
    heights = _channel_heights(sb) if st.up else {}
    details = _engine_status(sb) if st.engine else None
    if args.json:
        doc = {
            "engine": st.engine,
            "up": st.up,
            "processes": st.processes,
            "listeners": {n: dataclasses.asdict(x) for n, x in st.listeners.items()},
            "channels": heights,
            **({"fabric": details} if details else {}),
        }
        print(json.dumps(doc, indent=2))
    else:
        _print_status(st, heights, details)
    return 0


def _print_status(
    st: Status, heights: dict[str, int | str], details: dict[str, Any] | None
) -> None:
    print(f"engine: {st.engine or '-'}   state: {'up' if st.up else 'down'}")
    if not st.processes:
        print("  no sandbox process is running; start it with `cbp network up`")
    for name, p in st.processes.items():
        restarts = f"restarts {p['restarts']}" if p.get("restarts") else ""
        print(
            f"  process {name:<28} pid {p['pid']!s:<8} {'alive' if p['alive'] else 'DEAD':<5}"
            f" {restarts:<12} log {p['log']}"
        )
    for name, listener in st.listeners.items():
        state = "listening" if listener.listening else "not listening"
        print(f"  {name:<36} {listener.address:<17} {state}")
    for ch, h in heights.items():
        print(f"  channel {ch:<28} height {h}")
    if details:
        for name, node in details["nodes"].items():
            health = "healthy" if node["healthy"] else node.get("detail", "unhealthy")
            print(f"  node {name:<31} {health}")
        for ch, info in details["channels"].items():
            per_node = ", ".join(f"{n} {h}" for n, h in info["heights"].items())
            print(f"  channel {ch:<28} heights: {per_node}")
            for cc, d in info["chaincodes"].items():
                print(f"    chaincode {cc:<24} {d}")


def _engine_status(sb: Sandbox) -> dict[str, Any] | None:
    """What the engine adds (the fabric engine: per-node health and heights, committed
    chaincodes)."""
    try:
        return sb.engine_status()
    except Exception as exc:  # noqa: BLE001 - status must still print the processes
        return {"nodes": {}, "channels": {}, "error": " ".join(str(exc).split())}


def _channel_heights(sb: Sandbox) -> dict[str, int | str]:
    """Each channel's height (qscc GetChainInfo) as the admin of a peer org of the channel."""
    from cbp.errors import explain
    from gateway import GatewayClientError, from_profile

    heights: dict[str, int | str] = {}
    for name in sb.topology.channels:
        peers = sb.topology.channel_peers(name)
        if not peers:
            continue
        try:
            with from_profile(peers[0].org, "Admin", sb.paths.connection_profile) as gw:
                heights[name] = gw.get_network(name).get_chain_info().height
        except GatewayClientError as exc:
            heights[name] = f"unavailable: {explain(exc)}"
    return heights


def add_network_parser(sub: Any) -> None:
    net = sub.add_parser(
        "network",
        help="start, inspect, stop or reset the sandbox network",
        description="The sandbox network: every org, peer, orderer, channel and chaincode of "
        "network/topology.yaml, on 127.0.0.1. Files live in $CBP_HOME (default ./.sandbox); "
        "CBP_PORT_OFFSET=n shifts every port by n.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="sandbox folder (default $CBP_HOME or ./.sandbox)")
    common.add_argument("--topology", help="topology file (default network/topology.yaml)")
    actions = net.add_subparsers(dest="action", required=True, metavar="ACTION")

    up = actions.add_parser(
        "up",
        parents=[common],
        help="start everything and wait until it serves (does nothing if it already runs)",
        description="Write identities, genesis blocks and the connection profile (once), start "
        "the engine and the chaincode servers, and wait until they serve.",
    )
    up.add_argument(
        "--engine",
        choices=["embedded", "fabric"],
        default="embedded",
        help="embedded (default): the project's Fabric-compatible engine; fabric: "
        "real Hyperledger Fabric v3.1 binaries from $FABRIC_BIN or PATH",
    )
    up.add_argument(
        "--raft", type=int, default=1, choices=[1, 3], help="Raft orderer nodes (fabric engine)"
    )
    up.add_argument(
        "--one-tx-per-block", action="store_true", help="cut a block per transaction (tests)"
    )
    up.set_defaults(func=cmd_up)

    status = actions.add_parser(
        "status",
        parents=[common],
        help="processes (and their restarts), listeners with their addresses, channel heights",
        description="Each process (pid, alive, restarts by the watchdog, log), each listener "
        "(address, listening) and, when the sandbox is up, each channel's height.",
    )
    status.add_argument("--json", action="store_true", help="status as JSON")
    status.set_defaults(func=cmd_status)

    down = actions.add_parser(
        "down", parents=[common], help="stop every process the sandbox started (keeps data)"
    )
    down.set_defaults(func=cmd_down)
    reset = actions.add_parser(
        "reset",
        parents=[common],
        help="stop everything and delete the sandbox folder: the next up is a new network",
    )
    reset.set_defaults(func=cmd_reset)
    add_peer = actions.add_parser(
        "add-peer",
        parents=[common],
        help="a real Hyperledger Fabric peer for an org, joined to its channels beside the "
        "embedded ones (needs $FABRIC_BIN)",
        description="Start a real Fabric v3.1 peer of ORG (binaries from $FABRIC_BIN or PATH) on "
        "the running sandbox: it joins the org's channels from the ordering service, catches up, "
        "and endorses and validates beside the engine's peers. `cbp network down` stops it.",
    )
    add_peer.add_argument("org", help="the org key, e.g. tso (an org that runs peers)")
    add_peer.set_defaults(func=cmd_add_peer)


__all__ = ["add_network_parser"]
