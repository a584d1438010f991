"""Hypothesis-drawn bad calls of every transaction of every contract (cbp/faults/contracts.py),
through the gateway as a client makes them: each refused by the chaincode with a 4xx naming
the wrong argument (or the count), none accepted; afterwards no traceback in any log and no
height or world state changed (submit transactions are endorsed, never ordered)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from faultbox import FaultSandbox
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbp.faults import contracts
from cbp.faults.observe import LogMarks, Snapshot, snapshot
from cbp.faults.run import CALLERS, ROLE_CALLERS, contract_gateways
from network.topology import load_topology

pytestmark = pytest.mark.timeout(600)
EXAMPLES = 8
TOPOLOGY = load_topology(port_offset=0)
TRANSACTIONS = [tx for cc in CALLERS for tx in contracts.transactions(TOPOLOGY, cc)]


class _Baseline:
    def __init__(self, fs: FaultSandbox) -> None:
        self.fs = fs
        self.snapshot: Snapshot = asyncio.run(snapshot(fs.paths))
        self.marks = LogMarks.now(fs.paths)
        self.gateways, self.contracts = contract_gateways(fs.profile, fs.topology)
        self.sent = 0


@pytest.fixture(scope="module")
def baseline(fault_sandbox: FaultSandbox) -> Iterator[_Baseline]:
    base = _Baseline(fault_sandbox)
    try:
        yield base
    finally:
        for gw in base.gateways:
            gw.close()


def test_every_transaction_of_every_contract_is_covered() -> None:
    names = {(t.chaincode, t.name) for t in TRANSACTIONS}
    assert {
        ("registry", "RegisterPod"),
        ("registry", "ReadPod"),
        ("trading", "ConfirmTrades"),
        ("smoke", "Put"),
    } <= names
    assert len(TRANSACTIONS) >= 60


@pytest.mark.parametrize("tx", TRANSACTIONS, ids=[t.label for t in TRANSACTIONS])
def test_bad_calls_are_refused_with_a_4xx_naming_the_argument(
    baseline: _Baseline, tx: contracts.Transaction
) -> None:
    caller = ROLE_CALLERS.get((tx.chaincode, tx.name), CALLERS[tx.chaincode])
    target: dict[str, Any] = {tx.chaincode: baseline.contracts[(tx.chaincode, caller)]}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.data())
    def refused(data: st.DataObject) -> None:
        refusal = contracts.send(target, data.draw(contracts.bad_calls(tx)))
        baseline.sent += 1
        assert refusal.clean, (
            refusal.call.target,
            refusal.call.flaw,
            refusal.status,
            refusal.message,
        )

    refused()


def test_bad_calls_changed_nothing_and_logged_no_traceback(baseline: _Baseline) -> None:
    # hypothesis stops early where a transaction has fewer distinct bad calls (no parameters:
    # one, two or three arguments too many)
    assert baseline.sent >= 3 * len(TRANSACTIONS)
    assert baseline.marks.tracebacks() == {}
    after = asyncio.run(snapshot(baseline.fs.paths))
    assert baseline.snapshot.differences(after) == []
