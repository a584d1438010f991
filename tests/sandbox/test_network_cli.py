"""`cbp network up | status | down | reset` as a user runs them, on a sandbox of their own."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from network.processes import pid_alive

REPO = Path(__file__).resolve().parents[2]
OFFSET = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 300
pytestmark = pytest.mark.sandbox


def cbp(home: Path, *args: str, offset: int = OFFSET) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CBP_HOME": str(home), "CBP_PORT_OFFSET": str(offset)}
    return subprocess.run(
        [sys.executable, "-m", "cbp", "network", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    h = tmp_path_factory.mktemp("cli-home")
    yield h
    cbp(h, "down")


def test_network_up_prints_progress_and_readiness(home: Path) -> None:
    out = cbp(home, "up")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "generating identities" in out.stdout
    assert "embedded engine ready" in out.stdout
    ready = [line for line in out.stdout.splitlines() if "sandbox ready" in line]
    assert ready, out.stdout
    seconds = float(ready[0].split(" in ")[1].split(" s")[0])
    assert seconds < 30


def test_network_up_twice_is_harmless(home: Path) -> None:
    before = json.loads(cbp(home, "status", "--json").stdout)["processes"]
    again = cbp(home, "up")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    after = json.loads(cbp(home, "status", "--json").stdout)["processes"]
    assert {k: v["pid"] for k, v in before.items()} == {k: v["pid"] for k, v in after.items()}


def test_network_status_shows_nodes_channels_and_chaincodes(home: Path) -> None:
    status = json.loads(cbp(home, "status", "--json").stdout)
    assert status["engine"] == "embedded" and status["up"] is True
    assert all(p["alive"] for p in status["processes"].values())
    # the engine's core and a process per peer, each with its own pid and log
    peers = {"peer0.tso.cbp.local", "peer0.bsphost.cbp.local", "peer0.dsohost.cbp.local"}
    assert {"embedded-engine", *peers} <= set(status["processes"])
    engine = [status["processes"][n] for n in ("embedded-engine", *peers)]
    assert len({p["pid"] for p in engine}) == len(engine)
    assert all(Path(p["log"]).exists() for p in engine)
    tso = status["listeners"]["peer0.tso.cbp.local"]
    assert tso == {"address": f"127.0.0.1:{7051 + OFFSET}", "listening": True}
    assert status["listeners"]["chaincode registry"]["listening"] is True
    assert set(status["channels"]) == {"bsp1-channel", "bsp2-channel", "p2p-trading"}
    assert all(isinstance(h, int) and h >= 1 for h in status["channels"].values())
    human = cbp(home, "status").stdout
    assert "channel bsp1-channel" in human and "height" in human
    assert re.search(rf"peer0\.tso\S*\s+127\.0\.0\.1:{7051 + OFFSET}\s+listening", human), human


def test_network_up_gives_each_chaincode_its_config(home: Path) -> None:
    """The registry server learns its BNA from the file `up` wrote from the topology."""
    config = json.loads((home / "chaincode" / "registry" / "config.json").read_text())
    assert [k for k, o in config["organizations"].items() if o["bna"]] == ["tso"]
    assert config["organizations"]["tso"]["mspId"] == "TSOMSP"
    log = (home / "logs" / "chaincode-registry.log").read_text()
    assert "CHAINCODE_CONFIG" not in log  # a registry without its config refuses to start


def test_network_down_stops_every_process(home: Path) -> None:
    status = json.loads(cbp(home, "status", "--json").stdout)
    pids = [p["pid"] for p in status["processes"].values()]
    assert pids
    out = cbp(home, "down")
    assert out.returncode == 0, out.stderr
    assert not [pid for pid in pids if pid_alive(pid)]
    assert json.loads(cbp(home, "status", "--json").stdout)["up"] is False
    assert not list(home.glob("run/*.sock")), "a link's socket outlived its process"


def test_network_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    offset = OFFSET + 100
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 7051 + offset))  # peer0.tso's port
        blocker.listen()
        out = cbp(tmp_path, "up", offset=offset)
    assert out.returncode == 2
    assert "peer0.tso port" in out.stderr and str(7051 + offset) in out.stderr
    assert "CBP_PORT_OFFSET" in out.stderr
    assert not list(tmp_path.glob("run/*.pid")), "a process was left running"


def test_network_reset_removes_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "crypto").mkdir()
    out = cbp(tmp_path, "reset")
    assert out.returncode == 0, out.stderr
    assert not tmp_path.exists()
