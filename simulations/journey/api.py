"""The simulation's use of the connectors' REST API: many writes at once, then their outcomes.

A write is accepted at once (202, an operation); the ledger transactions run behind, side by
side across resources. `Batch` sends a phase's writes, then follows every operation to its
end; a refusal stops the journey with the connector's own words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from connector.client import ApiFailure, ConnectorClient


class JourneyError(RuntimeError):
    """A step of the journey the ledger or a connector refused; the message says which."""


def final(client: ConnectorClient, op_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    wait = 0.02
    while True:
        op: dict[str, Any] = client.get(f"/operations/{op_id}")
        if op["status"] in ("committed", "failed"):
            return op
        if time.monotonic() > deadline:
            raise JourneyError(f"operation {op_id} ({op['function']}) still {op['status']}")
        time.sleep(wait)
        wait = min(wait * 1.5, 0.25)


class Tally:
    """Ledger transactions committed, for a phase's report."""

    def __init__(self) -> None:
        self.count = 0


class Batch:
    """Writes sent together through one connector; `wait()` returns their committed records."""

    def __init__(self, client: ConnectorClient, what: str, tally: Tally | None = None) -> None:
        self.client = client
        self.what = what
        self.tally = tally
        self.ops: list[dict[str, Any]] = []

    def send(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> None:
        try:
            self.ops.append(self.client.write(method, path, body, **kw))
        except ApiFailure as exc:
            raise JourneyError(f"{self.what}: {method} {path}: {exc.message}") from None

    def wait(self) -> list[dict[str, Any]]:
        done = []
        for op in self.ops:
            outcome = (
                op if op["status"] in ("committed", "failed") else final(self.client, op["id"])
            )
            if outcome["status"] != "committed":
                error = outcome.get("error") or {}
                raise JourneyError(
                    f"{self.what}: {outcome['function']} of {outcome['resourceId']} failed: "
                    f"{error.get('message', outcome['status'])}"
                )
            done.append(outcome)
        if self.tally is not None:
            self.tally.count += len(done)
        self.ops = []
        return done


def one(
    client: ConnectorClient,
    what: str,
    method: str,
    path: str,
    body: Any = None,
    tally: Tally | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """A single write, waited for."""
    batch = Batch(client, what, tally)
    batch.send(method, path, body, **kw)
    return batch.wait()[0]


def until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until ``check`` gives something true (a connector's mirror catching up)."""
    deadline = time.monotonic() + timeout
    wait = 0.02
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise JourneyError(f"{what}: not seen after {timeout:g} s")
        time.sleep(wait)
        wait = min(wait * 1.5, 0.25)


def count(client: ConnectorClient, path: str, **params: Any) -> int:
    return int(client.get(path, params={**params, "limit": 1})["total"])
