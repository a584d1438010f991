"""A small client of a connector's REST API, for scripts, the `cbp` command and simulations.

    with ConnectorClient.for_org("bsp1") as api:          # the sandbox's URL and demo log-in
        op = api.post("/pods", pod, wait=30)               # the operation, once final
        pods = api.get("/pods", params={"status": "Open"})

Errors come back as `ApiFailure` carrying the connector's error body (status, code, message,
fields), so callers print the connector's own words.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gateway.endpoints import read_profile


class ApiFailure(Exception):
    """The connector answered with an error, or could not be reached."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any] | None = None):
        self.status, self.code, self.message, self.body = status, code, message, body or {}
        super().__init__(message)

    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.body.get("fields") or [])


def sandbox_home() -> Path:
    return Path(os.environ.get("CBP_HOME") or ".sandbox").resolve()


def connector_url(org: str, home: Path | None = None) -> str:
    """The org's connector URL, from the sandbox's connection profile."""
    profile_path = (home or sandbox_home()) / "connection-profile.json"
    try:
        profile = read_profile(profile_path)
    except Exception as exc:  # the profile reader names the file and what is wrong
        raise ApiFailure(0, "NoSandbox", str(exc)) from None
    orgs = profile.get("organizations", {})
    url = orgs.get(org, {}).get("connectorUrl")
    if url is None:
        with_connector = sorted(k for k, o in orgs.items() if o.get("connectorUrl"))
        raise ApiFailure(
            0,
            "UnknownOrganisation",
            f"organisation {org!r} has no connector; these do: {', '.join(with_connector)}",
        )
    return str(url)


def demo_password(org: str, username: str, home: Path | None = None) -> str | None:
    path = (home or sandbox_home()) / "connectors" / org / "demo-logins.json"
    try:
        logins: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return logins.get(username)


def _failure(response: httpx.Response) -> ApiFailure:
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    message = body.get("message") or f"HTTP {response.status_code}: {response.text[:200]}"
    return ApiFailure(response.status_code, body.get("code", "Error"), message, body)


class ConnectorClient:
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    @classmethod
    def for_org(
        cls,
        org: str,
        username: str | None = None,
        password: str | None = None,
        home: Path | None = None,
    ) -> ConnectorClient:
        """Logged in to `org`'s sandbox connector; the password defaults to CBP_PASSWORD, then
        to the sandbox's demo log-in for that user."""
        username = username or f"{org}-operator"
        password = password or os.environ.get("CBP_PASSWORD") or demo_password(org, username, home)
        if password is None:
            raise ApiFailure(
                0,
                "NoPassword",
                f"no password for {username}: set CBP_PASSWORD (the sandbox's demo log-ins are "
                f"in $CBP_HOME/connectors/{org}/demo-logins.json)",
            )
        client = cls(connector_url(org, home))
        client.log_in(username, password)
        return client

    def log_in(self, username: str, password: str) -> None:
        response = self._send(
            "POST", "/auth/token", data={"username": username, "password": password}
        )
        self._http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ApiFailure(
                0,
                "Unreachable",
                f"the connector at {self.base_url} is not running; start it with "
                "`cbp connector up` (or scripts/sandbox.sh)",
            ) from None
        except httpx.TimeoutException:
            raise ApiFailure(
                0, "Timeout", f"the connector at {self.base_url} did not answer"
            ) from None
        if response.status_code >= 400:
            raise _failure(response)
        return response

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params).json()

    def get_bytes(self, path: str) -> httpx.Response:
        return self._send("GET", path)

    def write(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        wait: float | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """A write; with `wait`, the operation's outcome (a refusal raises ApiFailure)."""
        headers = {"Prefer": f"wait={wait:g}"} if wait else {}
        response = self._send(
            method, path, json=body, files=files, data=data, headers=headers, params=params
        )
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.write("POST", path, body, **kw)

    def patch(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.write("PATCH", path, body, **kw)

    def put(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.write("PUT", path, body, **kw)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConnectorClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
