"""Concurrent writers through the Fabric gateway, each operation's fate written down.

Each worker endorses, submits and asks the commit status of one new operation after another
(`Workload.make`), until told to stop. An operation ends in one of four ways:

- ``acked``: the gateway said VALID. The user was told it is on the ledger: it must be there.
- ``refused``: it failed before it was submitted (endorsement failed: the peer, the chaincode or
  the gateway was down). It was never ordered; the user knows it failed.
- ``limbo``: it was submitted, but its outcome never came back (the submit or the commit-status
  call failed). It may or may not be on the ledger; the user does not know.
- ``invalid``: committed, but marked invalid (an MVCC conflict, say).

After a failure a worker waits a little before its next try, as a client with back-off would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cbp.faults.workloads import Workload

RETRY_PAUSE = 0.05


@dataclass
class Op:
    n: int
    key: str
    started: float  # monotonic
    ended: float = 0.0
    txid: str = ""
    outcome: str = ""  # acked, refused, limbo, invalid
    detail: str = ""


@dataclass
class LoadRun:
    workload: Workload
    ops: list[Op] = field(default_factory=list)
    next_n: int = 0

    def by_outcome(self, outcome: str) -> list[Op]:
        return [o for o in self.ops if o.outcome == outcome]

    def first_ack_after(self, moment: float) -> Op | None:
        """The first operation started after `moment` that was acknowledged."""
        acked = [o for o in self.ops if o.outcome == "acked" and o.started >= moment]
        return min(acked, key=lambda o: o.ended, default=None)


class Load:
    """`concurrency` workers writing through `workload.org`'s gateway peer."""

    def __init__(
        self,
        profile: Path,
        workload: Workload,
        concurrency: int,
        *,
        on_ack: Callable[[Op], None] | None = None,
    ) -> None:
        self.profile = profile
        self.workload = workload
        self.concurrency = concurrency
        self.run = LoadRun(workload)
        self.on_ack = on_ack
        self.stopping = asyncio.Event()

    def _next(self) -> Op:
        n = self.run.next_n
        self.run.next_n += 1
        _, key = self.workload.make(n)
        op = Op(n, key, time.monotonic())
        self.run.ops.append(op)
        return op

    async def _worker(self, contract: object) -> None:
        from gateway.errors import GatewayClientError
        from gateway.options import Timeouts

        timeouts = Timeouts(endorse=10.0, submit=5.0, commit_status=20.0)
        while not self.stopping.is_set():
            op = self._next()
            args, _ = self.workload.make(op.n)
            step = "endorse"
            try:
                proposal = contract.new_proposal(self.workload.function, *args)  # type: ignore[attr-defined]
                op.txid = proposal.transaction_id
                tx = await proposal.endorse(timeout=timeouts.endorse)
                step = "submit"
                commit = await tx.submit(timeout=timeouts.submit)
                step = "status"
                status = await commit.get_status(timeout=timeouts.commit_status)
            except (TimeoutError, GatewayClientError, OSError) as exc:
                op.ended = time.monotonic()
                op.outcome = "refused" if step == "endorse" else "limbo"
                op.detail = f"{step}: {str(exc).splitlines()[0][:200]}"
                await asyncio.sleep(RETRY_PAUSE)
                continue
            op.ended = time.monotonic()
            if status.code == 0:
                op.outcome = "acked"
                if self.on_ack is not None:
                    self.on_ack(op)
            else:
                op.outcome = "invalid"
                op.detail = str(status.code)

    async def drive(self) -> LoadRun:
        """Run the workers until `stopping` is set; each finishes the operation it is in."""
        from gateway.aio import from_profile

        async with from_profile(self.workload.org, "User1", self.profile) as gw:
            contract = gw.get_network(self.workload.channel).get_contract(self.workload.chaincode)
            await asyncio.gather(*(self._worker(contract) for _ in range(self.concurrency)))
        return self.run
