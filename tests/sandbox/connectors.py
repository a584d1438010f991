"""The organisations' connectors as the tests run them: real processes (`python -m
connector.serve`), on SQLite or on PostgreSQL, reached over HTTP, killed with SIGKILL when a
test says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from network.sandbox import Sandbox


class Connectors:
    def __init__(self, sandbox: Sandbox, home: Path, database_urls: dict[str, str] | None) -> None:
        self.sandbox = sandbox
        self.home = home  # connectors' own folder: databases, keys, demo log-ins, logs
        self.profile = sandbox.paths.connection_profile
        self.database_urls = database_urls
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.extra_args: list[str] = []
        self._clients: dict[tuple[str, str], httpx.Client] = {}
        self.env: dict[str, str] = {}
        profile = json.loads(self.profile.read_text())
        self.urls = {
            k: o["connectorUrl"]
            for k, o in profile["organizations"].items()
            if o.get("connectorUrl")
        }

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_urls else "sqlite"

    def log(self, org: str) -> Path:
        return self.home / f"connector-{org}.log"

    def variant(self, name: str, profile: Path, port: int, env: dict[str, str]) -> Connectors:
        """Another set of connectors on another profile (a ledger that is down, say), in a folder
        and on a port of their own."""
        other = Connectors(self.sandbox, self.home / name, None)
        other.profile = profile
        other.urls = {org: f"http://127.0.0.1:{port}" for org in self.urls}
        other.extra_args = ["--port", str(port)]
        other.env = env
        return other

    def start(self, *orgs: str, timeout: float = 90) -> None:
        """Start these connectors together; return once each answers its health check."""
        for org in orgs:
            self._launch(org)
        for org in orgs:
            self._await(org, timeout)

    def _launch(self, org: str) -> None:
        argv = [
            sys.executable,
            "-m",
            "connector.serve",
            "--org",
            org,
            "--home",
            str(self.home),
            "--profile",
            str(self.profile),
        ]
        if self.database_urls:
            argv += ["--database-url", self.database_urls[org]]
        argv += self.extra_args
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log(org), "ab") as out:
            self.procs[org] = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "CBP_HOME": str(self.home), **self.env},
            )

    def _await(self, org: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[org].poll() is not None:
                raise AssertionError(f"connector {org} died:\n{self.log(org).read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.urls[org]}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"connector {org} not answering after {timeout} s")

    def stop(self, org: str) -> None:
        self._forget(org)
        proc = self.procs.pop(org, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _forget(self, org: str) -> None:
        for key in [k for k in self._clients if k[0] == org]:
            self._clients.pop(key).close()

    def kill(self, org: str) -> None:
        self._forget(org)
        proc = self.procs.pop(org)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for org in list(self.procs):
            self.stop(org)

    def password(self, org: str, access: str) -> str:
        logins = json.loads((self.home / "connectors" / org / "demo-logins.json").read_text())
        return str(logins[f"{org}-{access}"])

    def client(self, org: str, access: str = "operator") -> httpx.Client:
        """A logged-in client, kept for the next call (a log-in hashes a password: slow)."""
        cached = self._clients.get((org, access))
        if cached is not None:
            return cached
        client = httpx.Client(base_url=self.urls[org], timeout=60)
        reply = client.post(
            "/auth/token",
            data={"username": f"{org}-{access}", "password": self.password(org, access)},
        )
        reply.raise_for_status()
        client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
        self._clients[(org, access)] = client
        return client
