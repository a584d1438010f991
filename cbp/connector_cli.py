"""`cbp connector serve | up | down | status | logins`: each organisation's CBP Connector.

`serve` runs one in the foreground; `up` starts one per organisation that has a connector in
the topology, in the background beside the sandbox (each with its pid file and log, stopped by
`down` or by `cbp network down`), waits until each answers, and prints its URL and log-ins.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from cbp.errors import CliError
from network.paths import SandboxPaths, sandbox_paths
from network.processes import ProcessError, Supervisor
from network.topology import load_topology
from network.watchdog import Recipe, write_recipe


def _say(msg: str) -> None:
    print(f"[cbp] {msg}", flush=True)


def _orgs(args: argparse.Namespace) -> dict[str, int]:
    topology = load_topology(args.topology)
    with_connector = {k: o.connector_port for k, o in topology.orgs.items() if o.connector_port}
    wanted = args.org or list(with_connector)
    unknown = [o for o in wanted if o not in with_connector]
    if unknown:
        raise CliError(
            f"organisation {unknown[0]!r} has no connector in the topology; these do: "
            f"{', '.join(with_connector)}"
        )
    return {o: int(with_connector[o]) for o in wanted}  # type: ignore[arg-type]


def _healthy(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as reply:
            data: dict[str, Any] = json.loads(reply.read())
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _logins(paths: SandboxPaths, org: str) -> dict[str, str]:
    try:
        data: dict[str, str] = json.loads(
            (paths.home / "connectors" / org / "demo-logins.json").read_text()
        )
        return data
    except (OSError, ValueError):
        return {}


def start_connectors(paths: SandboxPaths, orgs: dict[str, int], say: Any = _say) -> None:
    """Start each organisation's connector in the background (the sandbox's watchdog starts
    one again if it dies) and wait until each answers."""
    sup = Supervisor(paths)
    for org, port in orgs.items():
        name = f"connector-{org}"
        if sup.is_running(name):
            say(f"connector {org} already running (pid {sup.pid(name)})")
            continue
        argv = [sys.executable, "-m", "connector.serve", "--org", org, "--home", str(paths.home)]
        sup.start(name, argv)
        write_recipe(paths, Recipe(name, argv, ready_port=port))
        say(f"connector {org} starting on http://127.0.0.1:{port} (log {paths.log(name)})")
    for org, port in orgs.items():
        name = f"connector-{org}"

        def answering(p: int = port) -> bool:
            return _healthy(p) is not None

        took = sup.wait_until(name, answering, 60, "answering")
        say(f"connector {org} ready in {took:.1f} s")


def cmd_up(args: argparse.Namespace) -> int:
    paths = sandbox_paths(args.home)
    if not paths.connection_profile.exists():
        raise CliError("the sandbox is not set up here; start it first with `cbp network up`")
    orgs = _orgs(args)
    start_connectors(paths, orgs)
    print()
    print(
        "Connectors (the dashboard at /ui/, the REST API with OpenAPI at /docs); demo log-ins, "
        "also in "
        f"{paths.home}/connectors/<org>/demo-logins.json:"
    )
    for org, port in orgs.items():
        logins = "  ".join(f"{u} / {p}" for u, p in _logins(paths, org).items())
        print(f"  {org:<9} http://127.0.0.1:{port}/ui/   {logins}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    sup = Supervisor(sandbox_paths(args.home))
    for org in _orgs(args):
        if sup.stop(f"connector-{org}"):
            _say(f"connector {org} stopped")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    paths = sandbox_paths(args.home)
    sup = Supervisor(paths)
    rows: dict[str, dict[str, Any]] = {}
    for org, port in _orgs(args).items():
        health = _healthy(port) if sup.is_running(f"connector-{org}") else None
        rows[org] = {
            "url": f"http://127.0.0.1:{port}",
            "pid": sup.pid(f"connector-{org}"),
            "running": health is not None,
            "health": health,
        }
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for org, row in rows.items():
        state = (row["health"] or {}).get("status", "stopped") if row["running"] else "stopped"
        print(f"  connector {org:<9} {row['url']:<24} {state}")
    return 0


def cmd_logins(args: argparse.Namespace) -> int:
    paths = sandbox_paths(args.home)
    for org in _orgs(args):
        for user, password in _logins(paths, org).items():
            print(f"{org:<9} {user:<16} {password}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from connector.serve import main as serve_main

    argv = ["--org", args.org[0] if args.org else ""]
    for flag in ("port", "home", "database_url"):
        value = getattr(args, flag, None)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    return serve_main(argv)


def add_connector_parser(sub: Any) -> None:
    p = sub.add_parser(
        "connector",
        help="each organisation's CBP Connector (REST API): serve, up, down, status, logins",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action",
        choices=["serve", "up", "down", "status", "logins"],
        help="serve: one in the foreground; up: all (or --org) in the background; down; "
        "status; logins: the demo log-ins",
    )
    p.add_argument("--org", action="append", help="organisation (repeatable; default: all)")
    p.add_argument("--port", type=int, help="serve: the port (default the topology's)")
    p.add_argument("--database-url", help="serve: postgresql://... (default SQLite in CBP_HOME)")
    p.add_argument("--home", help="sandbox folder (default $CBP_HOME or ./.sandbox)")
    p.add_argument("--topology", help="topology file (default network/topology.yaml)")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    if args.action == "serve" and (not args.org or len(args.org) != 1):
        raise CliError("`cbp connector serve` needs exactly one --org (e.g. --org bsp1)")
    try:
        return {
            "serve": cmd_serve,
            "up": cmd_up,
            "down": cmd_down,
            "status": cmd_status,
            "logins": cmd_logins,
        }[args.action](args)
    except ProcessError as exc:
        raise CliError(str(exc)) from None


def wait_ready(port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _healthy(port) is not None:
            return True
        time.sleep(0.1)
    return False
