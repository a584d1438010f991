"""The cross-tenant matrix: every organisation against every channel, six ways in.

Each organisation's User1 connects through its own gateway peer (a tenant through its host's)
and tries, on each channel: to read (evaluate), to write (submit, committed VALID), to receive
blocks (Deliver), to receive chaincode events, to query the ledger (qscc GetChainInfo), and to
read private data (the smoke chaincode's TSO-only collection). What the design says:

- a member of the channel may do the first five; only the collection's members may read its
  private data (`memberOnlyRead`);
- a member that is a Reader but no Writer (the auditor) receives blocks and events and queries
  the ledger, but sends no chaincode proposal at all: a proposal, even a read-only one, needs
  the channel's Writers (Fabric's `peer/Propose`), while qscc checks its own Readers ACL;
- anyone else is refused, whichever peer they reach (a BSP reaching the BSP host's peer, which
  serves the other BSP's channel, is refused by that channel's policies).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPERATIONS = ("read", "write", "deliver", "events", "qscc", "private")
PROBE_CHAINCODE = "smoke"
STREAM_WAIT = 1.5


@dataclass(frozen=True)
class Cell:
    org: str
    channel: str
    operation: str
    expected: bool  # allowed?
    allowed: bool
    detail: str

    @property
    def as_designed(self) -> bool:
        return self.expected == self.allowed


def expectations(profile: dict[str, Any], topology: Any) -> dict[tuple[str, str, str], bool]:
    collection = topology.chaincodes[PROBE_CHAINCODE].collections[0]
    readers = set(re.findall(r"'([A-Za-z0-9.\-]+)\.member'", collection.policy))
    out: dict[tuple[str, str, str], bool] = {}
    for org, o in profile["organizations"].items():
        if not o.get("gatewayPeer") and not o.get("peers"):
            continue  # the ordering org serves no gateway
        for ch, spec in profile["channels"].items():
            member = org in spec["orgs"]
            writer = member and o.get("writer", True)
            out[(org, ch, "deliver")] = out[(org, ch, "events")] = member
            out[(org, ch, "qscc")] = member  # qscc's own ACL: the channel's Readers
            # a chaincode proposal needs the channel's Writers (peer/Propose), a read one too
            out[(org, ch, "read")] = out[(org, ch, "write")] = writer
            out[(org, ch, "private")] = writer and o["mspid"] in readers
    return out


async def _try(
    org: str, channel: str, op: str, profile_path: Path, collection: str
) -> tuple[bool, str]:
    from gateway.aio import from_profile
    from gateway.errors import GatewayClientError

    try:
        async with from_profile(org, "User1", profile_path) as gw:
            network = gw.get_network(channel)
            contract = network.get_contract(PROBE_CHAINCODE)
            if op == "read":
                await contract.evaluate_transaction("Get", "fault-matrix")
            elif op == "write":
                await contract.submit_transaction(
                    "Put", f"fault-matrix-{org}-{os.urandom(3).hex()}", org
                )
            elif op == "deliver":
                stream = await network.block_events(start_block=0, stop_block=0)
                async with stream:
                    async for _ in stream:
                        break
            elif op == "events":
                stream = await network.chaincode_events(PROBE_CHAINCODE, start_block=0)
                async with stream:
                    try:
                        await asyncio.wait_for(stream.__anext__(), STREAM_WAIT)
                    except (TimeoutError, StopAsyncIteration):
                        pass  # open and waiting: served
            elif op == "qscc":
                await network.get_chain_info()
            else:
                await contract.evaluate_transaction("GetPrivate", collection, "fault-matrix")
    except GatewayClientError as exc:
        lines = [ln.strip(" -") for ln in str(exc).splitlines()]
        code = getattr(exc, "code", "")
        return False, f"{code}: " + " | ".join(ln for ln in lines[1:] or lines)[:240]
    return True, "allowed"


async def run_matrix(
    profile_path: Path, topology: Any, say: Callable[[str], None] = lambda _m: None
) -> list[Cell]:
    profile = json.loads(Path(profile_path).read_text())
    collection = topology.chaincodes[PROBE_CHAINCODE].collections[0].name
    gate = asyncio.Semaphore(8)

    async def cell(org: str, channel: str, op: str, expected: bool) -> Cell:
        async with gate:
            allowed, detail = await _try(org, channel, op, profile_path, collection)
        return Cell(org, channel, op, expected, allowed, detail)

    cells = list(
        await asyncio.gather(
            *(
                cell(*key, expected)
                for key, expected in sorted(expectations(profile, topology).items())
            )
        )
    )
    wrong = [c for c in cells if not c.as_designed]
    say(f"tenants: {len(cells)} cells, {len(wrong)} not as designed")
    return cells
