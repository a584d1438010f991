"""Chaincode events resumed from a `FileCheckpointer`: across a client restart and an engine restart.

A listener handles some events, checkpointing each one, and stops; a new listener (a new
process would do the same: it only has the checkpoint file) resumes from the file. Together they
must see every event exactly once, in ledger order, including when the checkpoint falls in the
middle of a block. A sentinel event emitted afterwards must be the very next one delivered, so
nothing was doubled or skipped at the seam.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import ChaincodeEvent, FileCheckpointer, Gateway, from_profile
from network.paths import sandbox_paths
from network.sandbox import Engine, Sandbox
from network.topology import load_topology

CHANNEL = "bsp1-channel"
CHAINCODE = "smoke"
STREAM_TIMEOUT = 30.0
ENGINE: Engine = "fabric" if os.environ.get("CBP_TEST_ENGINE") == "fabric" else "embedded"
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(180)]
log = logging.getLogger(__name__)


def _emit(gw: Gateway, tag: str, count: int) -> tuple[list[tuple[str, str]], list[int]]:
    """`count` events in as few blocks as the orderer cuts: endorse all, then submit all.

    Returns (transaction id, payload) in commit order, and the block of each.
    """
    contract = gw.get_network(CHANNEL).get_contract(CHAINCODE)
    endorsed = [
        contract.new_proposal("EmitEvent", tag, f"{tag}-{i}").endorse() for i in range(count)
    ]
    payloads = {t.transaction_id: f"{tag}-{i}" for i, t in enumerate(endorsed)}
    commits = [t.submit() for t in endorsed]
    statuses = [c.get_status() for c in commits]
    for s in statuses:
        s.raise_for_status()
    block_of = {s.transaction_id: s.block_number for s in statuses}
    # The orderer keeps submission order within a block; blocks order the rest.
    order = sorted(range(count), key=lambda i: (block_of[endorsed[i].transaction_id], i))
    txids = [endorsed[i].transaction_id for i in order]
    return [(tx, payloads[tx]) for tx in txids], [block_of[tx] for tx in txids]


def _take(
    gw: Gateway, n: int, checkpointer: FileCheckpointer, **start: int
) -> list[ChaincodeEvent]:
    """Handle `n` events, checkpointing each as it is handled, then stop listening."""
    seen: list[ChaincodeEvent] = []
    network = gw.get_network(CHANNEL)
    with network.chaincode_events(
        CHAINCODE, checkpoint=checkpointer, timeout=STREAM_TIMEOUT, **start
    ) as events:
        for event in events:
            seen.append(event)
            checkpointer.checkpoint_chaincode_event(event)
            if len(seen) == n:
                break
    return seen


def _stop_index(emitted_blocks: list[int], fallback: int) -> int:
    """How many events the first listener handles: if possible, stop inside a block."""
    for i in range(len(emitted_blocks) - 1):
        if emitted_blocks[i] == emitted_blocks[i + 1]:
            return i + 1
    return fallback


def _ours(events: list[ChaincodeEvent], tag: str) -> list[tuple[str, str]]:
    return [(e.transaction_id, e.payload.decode()) for e in events if e.event_name == tag]


@pytest.fixture(scope="module")
def gw(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("bsp1", "User1", profile_path) as g:
        yield g


def test_gateway_events_resume_across_client_restart(
    gw: Gateway, profile_path: str, tmp_path: Path
) -> None:
    tag = f"Resume{uuid.uuid4().hex[:8]}"
    emitted, blocks = _emit(gw, tag, 6)
    stop = _stop_index(blocks, fallback=2)

    path = tmp_path / "checkpoint.json"
    first = _take(gw, stop, FileCheckpointer(path), start_block=blocks[0])
    assert _ours(first, tag) == emitted[:stop]
    assert path.exists()

    # a new client: a new gateway connection and a checkpointer that has only the file
    with from_profile("bsp1", "User1", profile_path) as again:
        resumed = FileCheckpointer(path)
        assert resumed.block_number == first[-1].block_number
        assert resumed.transaction_id == first[-1].transaction_id
        rest = _take(again, len(emitted) - stop, resumed)
        assert _ours(rest, tag) == emitted[stop:]

        sentinel, _ = _emit(again, tag, 1)
        (after,) = _take(again, 1, resumed)
        assert (after.transaction_id, after.payload.decode()) == sentinel[0]


@pytest.fixture(scope="module")
def private_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox of this module's own, so stopping and starting it disturbs no other test."""
    home = tmp_path_factory.mktemp("cbp-home-restart")
    offset = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 100
    sb = Sandbox(load_topology(port_offset=offset), sandbox_paths(home), say=log.info)
    sb.up(ENGINE)
    try:
        yield sb
    finally:
        sb.down()


def test_gateway_events_resume_across_engine_restart(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = str(private_sandbox.paths.connection_profile)
    tag = f"Restart{uuid.uuid4().hex[:8]}"
    path = tmp_path / "checkpoint.json"

    with from_profile("bsp1", "User1", profile) as gw:
        before, blocks = _emit(gw, tag, 4)
        network = gw.get_network(CHANNEL)
        stop = _stop_index(blocks, fallback=2)
        first = _take(gw, stop, FileCheckpointer(path), start_block=blocks[0])
        height_before = network.get_chain_info().height
    assert _ours(first, tag) == before[:stop]

    private_sandbox.down()
    private_sandbox.up(ENGINE)

    with from_profile("bsp1", "User1", profile) as gw:
        network = gw.get_network(CHANNEL)
        assert network.get_chain_info().height >= height_before  # the chain survived
        after, _ = _emit(gw, tag, 3)
        expected = before[stop:] + after
        rest = _take(gw, len(expected), FileCheckpointer(path))
        assert _ours(rest, tag) == expected

        sentinel, _ = _emit(gw, tag, 1)
        (next_event,) = _take(gw, 1, FileCheckpointer(path))
        assert (next_event.transaction_id, next_event.payload.decode()) == sentinel[0]
