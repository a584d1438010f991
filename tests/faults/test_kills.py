"""kill -9 under load (cbp/faults/kills.py): the embedded engine's core, the peer process the
load's gateway runs in, each chaincode server and a connector, at random moments and right after a block is written. Every acknowledged write is
VALID on every peer of its channel, none is committed twice, the watchdog brought each process
back once per kill, and `cbp network status` shows the restarts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from faultbox import FaultSandbox

from cbp.faults.connector_fault import run_connector_fault
from cbp.faults.kills import FaultResult, run_fault
from cbp.faults.run import HOST_PEER
from cbp.faults.workloads import prepare, workloads

pytestmark = pytest.mark.timeout(900)
WRITERS = 40
KILLS = {
    "embedded-engine": ("smoke", ["random", "random", "after block"]),
    HOST_PEER: ("smoke", ["random", "after block"]),  # the smoke load's gateway peer
    "chaincode-registry": ("registry", ["random", "after block"]),
    "chaincode-trading": ("trading", ["random", "after block"]),
    "chaincode-smoke": ("smoke", ["after block"]),
}


def _kept_every_promise(result: FaultResult) -> None:
    c = result.counts
    what = f"{result.fault} ({result.when})"
    assert c.acknowledged > 0, f"{what}: nothing acknowledged"
    assert c.lost == 0, f"{what}: lost {c.lost_examples}"
    assert c.doubled == 0, f"{what}: doubled {c.doubled_examples}"
    assert result.restarts == 1, f"{what}: the watchdog restarted it {result.restarts} times"
    assert result.recover_seconds is not None and result.restart_seconds is not None


@pytest.mark.parametrize("process", list(KILLS))
def test_kill_9_under_load_loses_nothing(fault_sandbox: FaultSandbox, process: str) -> None:
    name, moments = KILLS[process]
    workload = workloads(fault_sandbox.topology)[name]
    asyncio.run(prepare(workload, fault_sandbox.profile))
    for when in moments:
        result = asyncio.run(
            run_fault(
                fault_sandbox.paths,
                workload,
                process,
                fault=process,
                when=when,
                concurrency=WRITERS,
            )
        )
        _kept_every_promise(result)


def test_kill_9_of_a_connector_loses_no_accepted_operation(fault_sandbox: FaultSandbox) -> None:
    topo = fault_sandbox.topology
    port = topo.orgs["bsp1"].connector_port
    for when in ("random", "after block"):
        result = asyncio.run(
            run_connector_fault(
                fault_sandbox.paths,
                "bsp1",
                f"http://{topo.host}:{port}",
                topo.orgs["areti"].eic or "",
                when=when,
            )
        )
        _kept_every_promise(result)


def test_status_shows_the_restarts(fault_sandbox: FaultSandbox) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cbp",
            "network",
            "status",
            "--json",
            "--home",
            str(fault_sandbox.paths.home),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **fault_sandbox.topology.environment()},
    )
    processes = json.loads(out.stdout)["processes"]
    assert processes["embedded-engine"]["restarts"] == 3
    assert processes[HOST_PEER]["restarts"] == 2
    assert processes["chaincode-registry"]["restarts"] == 2
    assert processes["connector-bsp1"]["restarts"] == 2
    assert all(p["alive"] for p in processes.values())
    text = subprocess.run(
        [sys.executable, "-m", "cbp", "network", "status", "--home", str(fault_sandbox.paths.home)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **fault_sandbox.topology.environment()},
    ).stdout
    assert "restarts 3" in text
