"""Generated bad input on every gRPC method of the peers and the orderer (cbp/faults/wire.py):
each refused with the status a Fabric node gives, none answered UNKNOWN where Fabric answers
with a status, none unanswered, no traceback in any log, no height or world state changed, no
process crashed or restarted; valid requests still served; a committed transaction's envelope
submitted again is ordered and invalidated as DUPLICATE_TXID, changing no state."""

from __future__ import annotations

import asyncio
import random

import pytest
from faultbox import FaultSandbox

from cbp.faults import wire
from cbp.faults.observe import LogMarks, snapshot
from network.identities import CryptoLayout
from network.processes import Supervisor
from network.watchdog import read_state

pytestmark = pytest.mark.timeout(600)
PER_METHOD = 40
DUPLICATE_TXID = 9


def _pids(fs: FaultSandbox) -> dict[str, int]:
    return {r.name: r.pid for r in Supervisor(fs.paths).running()}


def test_wire_families_are_refused_cleanly_and_change_nothing(fault_sandbox: FaultSandbox) -> None:
    fs = fault_sandbox
    ca_dir = CryptoLayout(fs.topology, fs.paths.crypto).ca_cert("bsp1").parent
    bases, forged = asyncio.run(wire.make_bases(fs.profile, ca_dir))
    before = asyncio.run(snapshot(fs.paths))
    pids = _pids(fs)
    restarts = {n: e.get("restarts") for n, e in read_state(fs.paths).items()}
    marks = LogMarks.now(fs.paths)

    control = [
        wire.WireInput("control", m, "valid", bases.request(m))
        for m in wire.METHODS
        if not m.path.endswith(("/Submit", "/Broadcast"))
    ]
    served = asyncio.run(wire.run_inputs(fs.profile, control))
    assert {v.verdict for v in served.verdicts} == {"accepted"}, [
        (v.input.method.short, v.code) for v in served.verdicts if v.verdict != "accepted"
    ]

    rng = random.Random(7)
    inputs = [
        *wire.byte_inputs(bases, rng, PER_METHOD),
        *wire.nested_inputs(bases, rng),
        *wire.identity_inputs(bases, forged),
        *wire.replay_inputs(bases),
    ]
    huge = list(wire.oversize_inputs(bases))
    report = asyncio.run(wire.run_inputs(fs.profile, inputs))
    report.verdicts += asyncio.run(wire.run_inputs(fs.profile, huge, concurrency=1)).verdicts

    assert len(report.verdicts) >= 600
    assert report.methods() == {m.path for m in wire.METHODS}, "a gRPC method was not tried"
    assert not report.bad(), [
        (v.input.family, v.input.method.short, v.input.label, v.code) for v in report.bad()
    ]
    by_family = report.by_family()
    for family in wire.FAMILIES:
        assert by_family[family]["refused"] > 0, family
    # forged identities, replays and oversize are refused, every one
    for family in ("identity", "replay", "oversize"):
        assert set(by_family[family]) == {"refused"}, (family, by_family[family])
    # an identity that is not what it says is never served, at any method
    assert not {"OK", "SUCCESS"} & set(report.codes("identity")), report.codes("identity")
    assert "RESOURCE_EXHAUSTED" in report.codes("oversize")
    accepted = {v.input.label for v in report.verdicts if v.verdict == "accepted"}
    assert accepted <= {
        "header type CONFIG",
        "flip",
        "truncate",
        "insert",
        "splice",
        "repeat",
        "noise",
    }

    assert marks.tracebacks() == {}, "a traceback was logged"
    after = asyncio.run(snapshot(fs.paths))
    assert before.differences(after) == []
    assert _pids(fs) == pids, "a process crashed"
    assert {n: e.get("restarts") for n, e in read_state(fs.paths).items()} == restarts

    replays = asyncio.run(wire.replay_submissions(fs.profile, bases))
    assert [code for _, code in replays] == [DUPLICATE_TXID] * 4, replays
    replayed = asyncio.run(snapshot(fs.paths))
    assert replayed.state == after.state, "a replayed submission changed the world state"
    assert marks.tracebacks() == {}
