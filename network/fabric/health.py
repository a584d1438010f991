"""Readiness of real Fabric nodes: the operations `/healthz` endpoint and listening ports.

A node is waited on until it answers; if its process exits first, the wait stops at once and
the error names the node and its log, with the log's last lines.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..processes import Supervisor, port_open, tail
from .errors import NodeFailed
from .nodes import FabricNode


def healthz(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """(healthy, detail) from a Fabric operations /healthz endpoint."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback only)
            return resp.status == 200, resp.read().decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode(errors="replace").strip()
    except OSError as exc:
        return False, str(exc)


def wait_for(
    name: str,
    log: Path,
    supervisor: Supervisor,
    check: Callable[[], bool],
    what: str,
    timeout: float,
) -> float:
    """Seconds until `check()` holds; NodeFailed if process `name` dies or time runs out."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if not supervisor.is_running(name):
            raise NodeFailed(name, f"exited while starting (waiting for {what})\n" + tail(log), log)
        if time.monotonic() - start > timeout:
            raise NodeFailed(name, f"not {what} after {timeout:.0f}s\n" + tail(log), log)
        time.sleep(0.1)


def wait_healthy(node: FabricNode, supervisor: Supervisor, timeout: float = 60.0) -> float:
    took = wait_for(
        node.name,
        node.log,
        supervisor,
        lambda: healthz(node.healthz_url)[0],
        "healthy (/healthz)",
        timeout,
    )
    if node.admin_port is not None:
        # the orderer's admin (osnadmin) listener opens only after /healthz already answers
        admin_port = node.admin_port
        took += wait_for(
            node.name,
            node.log,
            supervisor,
            lambda: port_open(node.host, admin_port),
            f"listening on its admin port {admin_port}",
            timeout,
        )
    return took
