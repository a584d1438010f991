"""A connector killed with SIGKILL while its users register PODs through it.

The connector answers a write with 202 and an operation id once the operation is in its store:
from then on it has promised to carry it to the ledger. Its users keep registering PODs
(`POST /pods`, one new POD code each) until the connector has accepted some, then it is killed;
the sandbox's watchdog starts it again, and the users go on. Afterwards:

- acknowledged: operations the connector accepted (202 with an id);
- lost: accepted operations it no longer knows, that never end committed or failed, or that
  say committed while the POD is not VALID on every peer;
- doubled: a POD registered by more than one VALID transaction on a peer;
- limbo: requests that got no answer (the connection broke), and how many of their PODs are on
  the ledger all the same;
- recover: from the kill until the first registration sent after it is accepted.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cbp.faults.kills import FaultResult, kill, next_block
from cbp.faults.ledgercheck import Counts, heights, read_chain, settle
from network.paths import SandboxPaths
from network.processes import Supervisor
from network.watchdog import read_state
from network.watchdog import settle as settle_processes

Say = Callable[[str], None]
CHANNEL = "bsp1-channel"


@dataclass
class _Request:
    code: str
    started: float
    ended: float = 0.0
    outcome: str = ""  # acked, refused, limbo
    op_id: str = ""


def _pod(code: str, dso_eic: str) -> dict[str, Any]:
    return {
        "meteringPointId": code,
        "resourceName": f"Parking {code}",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": dso_eic,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


async def _token(url: str, org: str, paths: SandboxPaths) -> str:
    import httpx

    logins = json.loads((paths.home / "connectors" / org / "demo-logins.json").read_text())
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        reply = await client.post(
            "/auth/token",
            data={"username": f"{org}-operator", "password": logins[f"{org}-operator"]},
        )
        reply.raise_for_status()
        return str(reply.json()["access_token"])


def _key_of(args: Any) -> str | None:
    try:
        value = json.loads(args[0]).get("meteringPointId")
    except (ValueError, IndexError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def run_connector_fault(
    paths: SandboxPaths,
    org: str,
    url: str,
    dso_eic: str,
    *,
    when: str = "random",
    concurrency: int = 20,
    warm_accepts: int = 20,
    after_recovery: float = 1.0,
    final_timeout: float = 120.0,
    say: Say = lambda _m: None,
) -> FaultResult:
    import httpx

    process = f"connector-{org}"
    profile = paths.connection_profile
    start = min((await heights(profile, CHANNEL)).values())
    restarts_before = int(read_state(paths).get(process, {}).get("restarts", 0))
    token = await _token(url, org, paths)
    headers = {"Authorization": f"Bearer {token}"}
    base = random.randrange(10**7, 8 * 10**7)
    requests: list[_Request] = []
    stop = asyncio.Event()
    accepted = asyncio.Event()

    async def user(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            code = f"IT002E{base + len(requests):08d}"
            req = _Request(code, time.monotonic())
            requests.append(req)
            try:
                reply = await client.post("/pods", json=_pod(code, dso_eic), headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                req.outcome = "refused"  # never reached the connector
            except httpx.HTTPError:
                req.outcome = "limbo"  # sent, and the answer never came
            else:
                req.outcome = "acked" if reply.status_code == 202 else "refused"
                if reply.status_code == 202:
                    req.op_id = reply.json()["id"]
            req.ended = time.monotonic()
            if sum(r.outcome == "acked" for r in requests) >= warm_accepts:
                accepted.set()
            if req.outcome != "acked":
                await asyncio.sleep(0.05)

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        users = asyncio.gather(*(user(client) for _ in range(concurrency)))
        try:
            await asyncio.wait_for(accepted.wait(), 60)
            if when == "after block":
                await asyncio.wait_for(next_block(profile, org, CHANNEL), 30)
            else:
                await asyncio.sleep(random.uniform(0.0, 0.5))
            kill_at = time.monotonic()
            pid = await asyncio.to_thread(kill, paths, process)
            say(f"connector {org}: killed {process} (pid {pid}) {when} under load")
            deadline = kill_at + 90
            while True:
                after = [r for r in requests if r.started >= kill_at and r.outcome == "acked"]
                if after:
                    recover = min(r.ended for r in after) - kill_at
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"connector {org} accepted nothing within 90 s of the kill")
                await asyncio.sleep(0.05)
            await asyncio.sleep(after_recovery)
        finally:
            stop.set()
            await users
        await asyncio.to_thread(settle_processes, Supervisor(paths), 60.0)
        final = await _finals(
            client, headers, [r for r in requests if r.outcome == "acked"], final_timeout
        )
    await settle(profile, CHANNEL)
    chains = [
        await read_chain(profile, CHANNEL, p, start, _key_of, "registry")
        for p in (await heights(profile, CHANNEL))
    ]
    acked = [r for r in requests if r.outcome == "acked"]
    limbo = [r for r in requests if r.outcome == "limbo"]

    def valid_everywhere(code: str) -> bool:
        return all(len(c.keys.get(code, ())) >= 1 for c in chains)

    lost = [
        r
        for r in acked
        if final.get(r.op_id) not in ("committed", "failed")
        or (final.get(r.op_id) == "committed" and not valid_everywhere(r.code))
    ]
    doubled = sorted({r.code for r in requests for c in chains if len(c.keys.get(r.code, ())) > 1})
    counts = Counts(
        acknowledged=len(acked),
        lost=len(lost),
        doubled=len(doubled),
        limbo=len(limbo),
        limbo_committed=sum(valid_everywhere(r.code) for r in limbo),
        refused=sum(r.outcome == "refused" for r in requests),
        invalid=sum(final.get(r.op_id) == "failed" for r in acked),
        peers=len(chains),
        lost_examples=tuple(f"{r.code} ({final.get(r.op_id)})" for r in lost[:5]),
        doubled_examples=tuple(doubled[:5]),
    )
    state = read_state(paths).get(process, {})
    say(
        f"connector {org} ({when}): {counts.acknowledged} accepted, {counts.lost} lost, "
        f"{counts.doubled} doubled, {counts.limbo} in limbo, recovered in {recover:.2f} s"
    )
    return FaultResult(
        fault=f"connector {org}",
        process=process,
        when=when,
        counts=counts,
        recover_seconds=round(recover, 3),
        restart_seconds=state.get("lastOutageSeconds"),
        restarts=int(state.get("restarts", 0)) - restarts_before,
    )


async def _finals(
    client: Any, headers: dict[str, str], accepted: list[_Request], timeout: float
) -> dict[str, str]:
    """Each accepted operation's status once every one is committed or failed (or at
    `timeout`): 'missing' for one the connector no longer knows."""
    deadline = time.monotonic() + timeout
    final: dict[str, str] = {}
    while True:
        for r in accepted:
            if final.get(r.op_id) in ("committed", "failed"):
                continue
            reply = await client.get(f"/operations/{r.op_id}", headers=headers)
            final[r.op_id] = reply.json()["status"] if reply.status_code == 200 else "missing"
        if all(s in ("committed", "failed") for s in final.values()) or time.monotonic() > deadline:
            return final
        await asyncio.sleep(1.0)
