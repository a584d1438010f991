"""One fault: a process of the sandbox killed with SIGKILL while a load writes, then counted.

The load runs until it has its first acknowledgements; then the process is killed, either at a
random moment or right after the next block reaches the load's peer (the peers are committing
it: the moment a ledger is most exposed). The load goes on while the sandbox's watchdog starts
the process again, and for a while after the first acknowledgement that follows the kill; then
every peer's chain is read (`ledgercheck`).

Figures: acknowledged, lost, doubled, limbo (and how many of those did commit), refused before
submission, and two times: *recover* (from the kill until the first operation started after
it is acknowledged: what a user waits) and *restart* (from the process's death until the
watchdog saw its replacement ready).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cbp.faults.ledgercheck import Counts, check, heights
from cbp.faults.load import Load
from cbp.faults.workloads import Workload
from network.paths import SandboxPaths
from network.processes import Supervisor, pid_alive
from network.watchdog import read_state, settle

Say = Callable[[str], None]
WHEN = ("random", "after block")


class FaultError(RuntimeError):
    """The fault could not be run as asked (no such process, no recovery in time)."""


@dataclass(frozen=True)
class FaultResult:
    fault: str
    process: str
    when: str
    counts: Counts
    recover_seconds: float | None
    restart_seconds: float | None
    restarts: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def next_block(profile: Path, org: str, channel: str) -> None:
    """Return when the next block of `channel` reaches `org`'s gateway peer."""
    from gateway.aio import from_profile

    async with from_profile(org, "User1", profile) as gw:
        network = gw.get_network(channel)
        height = (await network.get_chain_info()).height
        stream = await network.block_events(start_block=height)
        async with stream:
            async for _ in stream:
                return


def kill(paths: SandboxPaths, process: str) -> int:
    """SIGKILL `process` (by its pid file); wait until it is gone. Its pid."""
    pid = Supervisor(paths).pid(process)
    if pid is None or not pid_alive(pid):
        raise FaultError(f"{process} is not running in {paths.home}")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return pid


async def run_fault(
    paths: SandboxPaths,
    workload: Workload,
    process: str,
    *,
    fault: str,
    when: str = "random",
    concurrency: int = 50,
    warm_acks: int = 20,
    after_recovery: float = 1.0,
    recovery_timeout: float = 90.0,
    say: Say = lambda _m: None,
) -> FaultResult:
    """Kill `process` under `workload` at `concurrency`; count what became of every operation."""
    if when not in WHEN:
        raise ValueError(f"when={when!r}: one of {', '.join(WHEN)}")
    profile = paths.connection_profile
    start = min((await heights(profile, workload.channel)).values())
    restarts_before = int(read_state(paths).get(process, {}).get("restarts", 0))
    acked = asyncio.Event()
    count = 0

    def on_ack(_op: object) -> None:
        nonlocal count
        count += 1
        if count >= warm_acks:
            acked.set()

    load = Load(profile, workload, concurrency, on_ack=on_ack)
    driving = asyncio.create_task(load.drive())
    try:
        await asyncio.wait_for(acked.wait(), 60)
        if when == "after block":
            await asyncio.wait_for(next_block(profile, workload.org, workload.channel), 30)
        else:
            await asyncio.sleep(random.uniform(0.0, 0.5))
        kill_at = time.monotonic()
        pid = await asyncio.to_thread(kill, paths, process)
        say(f"{fault}: killed {process} (pid {pid}) {when} under load")
        deadline = kill_at + recovery_timeout
        while (first := load.run.first_ack_after(kill_at)) is None:
            if time.monotonic() > deadline or driving.done():
                raise FaultError(
                    f"{fault}: nothing acknowledged within {recovery_timeout:.0f} s of the kill"
                )
            await asyncio.sleep(0.05)
        recover = first.ended - kill_at
        await asyncio.sleep(after_recovery)
    finally:
        load.stopping.set()
        run = await driving
    await asyncio.to_thread(settle, Supervisor(paths), 60.0)
    state = read_state(paths).get(process, {})
    counts = await check(profile, run, start)
    result = FaultResult(
        fault=fault,
        process=process,
        when=when,
        counts=counts,
        recover_seconds=round(recover, 3),
        restart_seconds=state.get("lastOutageSeconds"),
        restarts=int(state.get("restarts", 0)) - restarts_before,
    )
    say(
        f"{fault} ({when}): {counts.acknowledged} acknowledged, {counts.lost} lost, "
        f"{counts.doubled} doubled, {counts.limbo} in limbo ({counts.limbo_committed} "
        f"committed), recovered in {recover:.2f} s"
    )
    return result
