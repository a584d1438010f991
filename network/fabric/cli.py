"""Thin wrappers over the `peer` and `osnadmin` command-line tools.

Each call runs as an org admin against one node, with the environment Fabric's CLI reads.
Transient answers that real Fabric gives right after a start (no Raft leader yet, orderer
SERVICE_UNAVAILABLE just after a channel join, a peer not yet listening) are retried for a
bounded time and logged, so `up` waits them out instead of hiding or failing on them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..identities import CryptoLayout
from .binaries import FabricBinaries
from .errors import CommandFailed
from .nodes import FabricNode

log = logging.getLogger(__name__)

TRANSIENT = (
    "SERVICE_UNAVAILABLE",
    "Status: 503",
    "no Raft leader",
    "connection refused",
    "Unavailable",
    "failed to create new connection",
    "context deadline exceeded",
    "error getting broadcast client",
    "is not the leader",
    "the consenter is not ready",
    "waiting for leader",
)


@dataclass(frozen=True)
class Result:
    code: int
    output: str


def _run(argv: list[str], env: dict[str, str], timeout: float) -> Result:
    try:
        p = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        return Result(124, f"{text}\ntimed out after {timeout:.0f}s")
    return Result(p.returncode, (p.stdout or "") + (p.stderr or ""))


def run_retrying(
    what: str,
    argv: list[str],
    env: dict[str, str],
    *,
    attempts_for: float = 60.0,
    timeout: float = 60.0,
    ok: Any = None,
    on_wait: Callable[[str], None] | None = None,
) -> Result:
    """Runs until success (`ok(result)` or exit 0); retries only transient failures."""
    deadline = time.monotonic() + attempts_for
    delay = 0.5
    while True:
        res = _run(argv, env, timeout)
        good = ok(res) if ok is not None else res.code == 0
        if good:
            return res
        transient = any(t in res.output for t in TRANSIENT)
        if not transient or time.monotonic() + delay > deadline:
            raise CommandFailed(what, argv, res.output)
        note = f"{what}: not ready yet ({_first_error(res.output)}); retrying in {delay:.1f}s"
        (on_wait or log.info)(note)
        time.sleep(delay)
        delay = min(delay * 1.5, 3.0)


def _first_error(output: str) -> str:
    for t in TRANSIENT:
        if t in output:
            return t
    return output.strip().splitlines()[-1] if output.strip() else "no output"


class PeerCLI:
    """`peer` as the admin of `node`'s org, pointed at `node`."""

    def __init__(
        self,
        bins: FabricBinaries,
        crypto: CryptoLayout,
        node: FabricNode,
        orderer: FabricNode,
        on_wait: Callable[[str], None] | None = None,
        config_dir: Path | None = None,
    ) -> None:
        """`config_dir`: where the CLI reads core.yaml, by default the node's own (a peer of
        the embedded engine has none: pass any Fabric peer's)."""
        self.on_wait = on_wait
        self.bins = bins
        self.node = node
        self.orderer = orderer
        admin = crypto.user_dir(node.org, "Admin")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CORE_", "FABRIC_"))},
            "FABRIC_CFG_PATH": str(config_dir or node.config_dir),
            "FABRIC_LOGGING_SPEC": "WARNING",
            "CORE_PEER_LOCALMSPID": node.msp_id,
            "CORE_PEER_MSPCONFIGPATH": str(admin / "msp"),
            "CORE_PEER_ADDRESS": node.address,
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_ROOTCERT_FILE": str(node.tls_ca),
        }
        self.client_tls: tuple[Path, Path] | None = None
        if crypto.topology.client_auth_required:  # mutual TLS: the admin's TLS client cert
            cert, key = admin / "tls" / "client.crt", admin / "tls" / "client.key"
            self.client_tls = (cert, key)
            self.env.update(
                CORE_PEER_TLS_CLIENTAUTHREQUIRED="true",
                CORE_PEER_TLS_CLIENTCERT_FILE=str(cert),
                CORE_PEER_TLS_CLIENTKEY_FILE=str(key),
            )

    def orderer_flags(self) -> list[str]:
        flags = ["-o", self.orderer.address, "--tls", "--cafile", str(self.orderer.tls_ca)]
        if self.client_tls is not None:
            cert, key = self.client_tls
            flags += ["--clientauth", "--certfile", str(cert), "--keyfile", str(key)]
        return flags

    def run(self, what: str, *args: str, attempts_for: float = 60.0, timeout: float = 60.0) -> str:
        argv = [str(self.bins.peer), *args]
        return run_retrying(
            f"{what} on {self.node.name}",
            argv,
            self.env,
            attempts_for=attempts_for,
            timeout=timeout,
            on_wait=self.on_wait,
        ).output

    def channels(self) -> list[str]:
        out = self.run("peer channel list", "channel", "list")
        # output: "Channels peers has joined: \nch1\nch2"
        lines = out.strip().splitlines()
        idx = next((i for i, ln in enumerate(lines) if "has joined" in ln), -1)
        return [ln.strip() for ln in lines[idx + 1 :] if ln.strip()]

    def height(self, channel: str) -> int:
        out = self.run("peer channel getinfo", "channel", "getinfo", "-c", channel, attempts_for=5)
        m = re.search(r"\{.*\}", out, re.S)
        if not m:
            raise CommandFailed("peer channel getinfo", ["peer", "channel", "getinfo"], out)
        return int(json.loads(m.group(0)).get("height", 0))


class OsnAdmin:
    """`osnadmin` as the orderer org's admin, against one orderer's admin endpoint."""

    def __init__(
        self,
        bins: FabricBinaries,
        crypto: CryptoLayout,
        node: FabricNode,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.on_wait = on_wait
        self.bins = bins
        self.node = node
        tls = crypto.user_dir(node.org, "Admin") / "tls"
        self.flags = [
            "-o",
            node.admin_address,
            "--ca-file",
            str(node.tls_ca),
            "--client-cert",
            str(tls / "client.crt"),
            "--client-key",
            str(tls / "client.key"),
        ]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CORE_", "FABRIC_"))}

    def _call(
        self, what: str, args: list[str], want: tuple[int, ...], attempts_for: float = 30.0
    ) -> tuple[int, Any]:
        # osnadmin exits 0 on HTTP errors: the verdict is its "Status: NNN" line.
        argv = [str(self.bins.osnadmin), *args, *self.flags]
        res = run_retrying(
            f"{what} on {self.node.name}",
            argv,
            self.env,
            attempts_for=attempts_for,
            ok=lambda r: r.code == 0 and _status(r.output) in want,
            on_wait=self.on_wait,
        )
        return _status(res.output), _body(res.output)

    def list_channels(self) -> list[str]:
        _, body = self._call("osnadmin channel list", ["channel", "list"], (200,))
        return [c["name"] for c in (body or {}).get("channels") or []]

    def channel_info(self, channel: str) -> dict[str, Any]:
        _, body = self._call(
            "osnadmin channel list", ["channel", "list", "--channelID", channel], (200,)
        )
        return dict(body or {})

    def join(self, channel: str, block: Path) -> None:
        status, body = self._call(
            f"osnadmin channel join {channel}",
            ["channel", "join", "--channelID", channel, "--config-block", str(block)],
            (201, 405),
        )
        if status == 405:
            # 405: the orderer already has this channel; "up twice is harmless"
            log.info("%s already joined %s", self.node.name, channel)

    def remove(self, channel: str) -> None:
        self._call(
            f"osnadmin channel remove {channel}",
            ["channel", "remove", "--channelID", channel],
            (204, 404),
        )


def _status(output: str) -> int:
    m = re.search(r"Status:\s*(\d{3})", output)
    return int(m.group(1)) if m else 0


def _body(output: str) -> Any:
    m = re.search(r"\{.*\}", output, re.S)
    if not m:
        return None
    try:
        return json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
