"""What each peer's chain says about a load's operations: found, valid, how many times.

Blocks are read from every peer of the channel through that peer's own Deliver service (as a
channel member would read them), not from the engine's files, so the check holds on either
engine. An operation is:

- lost: acknowledged, but not VALID on some peer;
- doubled: its record (key) written by more than one VALID transaction on some peer, or its
  transaction VALID twice;
- in limbo and later committed: submitted with no answer, and VALID on the ledger after all.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cbp.faults.load import LoadRun


@dataclass
class PeerChain:
    peer: str
    height: int
    valid: Counter[str] = field(default_factory=Counter)  # txid -> VALID occurrences
    codes: dict[str, int] = field(default_factory=dict)  # txid -> first validation code
    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # key -> txids


@dataclass(frozen=True)
class Counts:
    acknowledged: int
    lost: int
    doubled: int
    limbo: int
    limbo_committed: int
    refused: int
    invalid: int
    peers: int
    lost_examples: tuple[str, ...] = ()
    doubled_examples: tuple[str, ...] = ()


def channel_readers(profile: dict[str, Any], channel: str) -> tuple[str, list[str]]:
    """An organisation allowed to read `channel`, and the channel's peers."""
    ch = profile["channels"][channel]
    org = next(o for o in ch["orgs"] if profile["organizations"].get(o, {}).get("users"))
    return org, list(ch["peers"])


async def heights(profile_path: Path, channel: str) -> dict[str, int]:
    from gateway.aio import from_profile

    profile = json.loads(Path(profile_path).read_text())
    org, peers = channel_readers(profile, channel)
    out: dict[str, int] = {}
    for peer in peers:
        async with from_profile(org, "User1", profile_path, peer=peer) as gw:
            out[peer] = (await gw.get_network(channel).get_chain_info()).height
    return out


async def settle(profile_path: Path, channel: str, timeout: float = 60.0) -> dict[str, int]:
    """Wait until every peer of the channel has the same height twice in a row."""
    deadline = time.monotonic() + timeout
    last: dict[str, int] = {}
    while True:
        try:
            now = await heights(profile_path, channel)
        except Exception:  # noqa: BLE001 - a peer still coming back: ask again
            now = {}
        if now and len(set(now.values())) == 1 and now == last:
            return now
        if time.monotonic() > deadline:
            raise TimeoutError(f"{channel}: peers did not agree on a height: {now}")
        last = now
        await asyncio.sleep(0.5)


async def read_chain(
    profile_path: Path, channel: str, peer: str, start: int, key_of: Any, chaincode: str
) -> PeerChain:
    from gateway.aio import from_profile
    from gateway.ledger import decode_block

    profile = json.loads(Path(profile_path).read_text())
    org, _ = channel_readers(profile, channel)
    async with from_profile(org, "User1", profile_path, peer=peer) as gw:
        network = gw.get_network(channel)
        height = (await network.get_chain_info()).height
        chain = PeerChain(peer, height)
        async for block in network.iter_blocks(start, height - 1):
            for tx in decode_block(block).transactions:
                chain.codes.setdefault(tx.transaction_id, tx.validation_code or 0)
                if not tx.valid:
                    continue
                chain.valid[tx.transaction_id] += 1
                if tx.chaincode == chaincode:
                    key = key_of(tx.args)
                    if key is not None:
                        chain.keys[key].add(tx.transaction_id)
    return chain


async def check(profile_path: Path, run: LoadRun, start: int) -> Counts:
    """Every peer's chain from block `start` against what the load was told."""
    w = run.workload
    profile = json.loads(Path(profile_path).read_text())
    _, peers = channel_readers(profile, w.channel)
    await settle(profile_path, w.channel)
    chains = [
        await read_chain(profile_path, w.channel, p, start, w.key_of, w.chaincode) for p in peers
    ]
    acked = run.by_outcome("acked")
    limbo = run.by_outcome("limbo")
    lost = [o for o in acked if any(c.valid[o.txid] < 1 for c in chains)]
    keys = {o.key for o in run.ops}
    doubled = sorted(
        k
        for c in chains
        for k in keys
        if len(c.keys.get(k, ())) > 1 or any(c.valid[t] > 1 for t in c.keys.get(k, ()))
    )
    committed = [o for o in limbo if all(c.valid[o.txid] >= 1 for c in chains)]
    return Counts(
        acknowledged=len(acked),
        lost=len(lost),
        doubled=len(set(doubled)),
        limbo=len(limbo),
        limbo_committed=len(committed),
        refused=len(run.by_outcome("refused")),
        invalid=len(run.by_outcome("invalid")),
        peers=len(chains),
        lost_examples=tuple(f"{o.key} ({o.txid[:12]})" for o in lost[:5]),
        doubled_examples=tuple(sorted(set(doubled))[:5]),
    )
