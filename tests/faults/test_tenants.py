"""The cross-tenant matrix (cbp/faults/tenants.py): every organisation x every channel x read,
write, deliver, events, qscc and private data, each allowed or refused as the channels'
membership, the Writers policies and the collection's policy say; the cells that matter most
named one by one."""

from __future__ import annotations

import asyncio

import pytest
from faultbox import FaultSandbox

from cbp.faults.observe import LogMarks
from cbp.faults.tenants import OPERATIONS, run_matrix

pytestmark = pytest.mark.timeout(300)


def test_every_cell_is_allowed_or_refused_as_designed(fault_sandbox: FaultSandbox) -> None:
    marks = LogMarks.now(fault_sandbox.paths)
    cells = asyncio.run(run_matrix(fault_sandbox.profile, fault_sandbox.topology))
    orgs = {c.org for c in cells}
    channels = {c.channel for c in cells}
    assert orgs == {
        "tso",
        "bsphost",
        "dsohost",
        "infraop",
        "bsp1",
        "bsp2",
        "areti",
        "evusers",
        "regulator",
    }
    assert channels == {"bsp1-channel", "bsp2-channel", "p2p-trading"}
    assert len(cells) == len(orgs) * len(channels) * len(OPERATIONS)
    wrong = [c for c in cells if not c.as_designed]
    assert not wrong, [(c.org, c.channel, c.operation, c.allowed, c.detail) for c in wrong]
    cell = {(c.org, c.channel, c.operation): c for c in cells}
    # a BSP reaching the host peer that serves the other BSP's channel gets nothing from it
    for op in OPERATIONS:
        assert not cell[("bsp2", "bsp1-channel", op)].allowed
        assert not cell[("bsp1", "bsp2-channel", op)].allowed
    # the DSO is on both BSP channels, never on the trading one
    assert cell[("areti", "bsp2-channel", "write")].allowed
    assert not cell[("areti", "p2p-trading", "read")].allowed
    # the TSO-only collection: the TSO reads it, a member of the same channel does not
    assert cell[("tso", "bsp1-channel", "private")].allowed
    assert not cell[("bsphost", "bsp1-channel", "private")].allowed
    # the auditor reads every channel's blocks, events and ledger, and proposes nothing
    for ch in channels:
        assert (
            cell[("regulator", ch, "deliver")].allowed and cell[("regulator", ch, "qscc")].allowed
        )
        assert cell[("regulator", ch, "events")].allowed
        assert not cell[("regulator", ch, "write")].allowed
        assert not cell[("regulator", ch, "read")].allowed
    assert marks.tracebacks() == {}
