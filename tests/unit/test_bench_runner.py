"""The runner against a fake load driver (a tiny script speaking the protocol): windows are
measured with /proc around them, driver failures are reported with the driver's log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cbp.bench.procstat import ProcSample
from cbp.bench.protocol import DriverConfig
from cbp.bench.runner import CLIENT, BenchError, Watch, level_result, run_driver

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")

# Spends ~0.3 s of CPU inside the window, none outside it.
FAKE_DRIVER = r"""
import json, sys, time
cfg = json.loads(sys.stdin.read())
def emit(**e): print(json.dumps(e), flush=True)
emit(event="ready")
for level in cfg["levels"]:
    emit(event="window_start", level=level)
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    emit(event="progress", level=level, elapsed=0.1, committed=5, failed=0)
    emit(event="window_end", level=level, elapsed=0.5, committed=10 * level, failed=1,
         errors={"EndorseError: x": 1}, latencies_ms=[250.0, 300.0, 900.0], cpu_seconds=0.3)
    time.sleep(0.3)  # the drain: in-flight transactions finish after the window
emit(event="done")
"""

FAILING_DRIVER = r"""
import sys
sys.stdin.read()
print("connection refused on 127.0.0.1:1", file=sys.stderr)
print('{"event": "error", "message": "GatewayError: UNAVAILABLE"}', flush=True)
sys.exit(2)
"""

CRASHING_DRIVER = r"""
import sys
sys.stdin.read()
print("Traceback: something broke", file=sys.stderr)
sys.exit(3)
"""


def _config(levels: list[int]) -> DriverConfig:
    return DriverConfig(
        profile="/nowhere/connection-profile.json",
        org="bsp1",
        channel="bsp1-channel",
        chaincode="smoke",
        function="Put",
        levels=levels,
        duration=0.5,
        warmup=0,
    )


def _script(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "driver.py"
    p.write_text(text)
    return [sys.executable, str(p)]


def test_run_driver_measures_each_window(tmp_path: Path) -> None:
    said: list[str] = []
    # an idle process stands in for the engine
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        results = run_driver(
            _script(tmp_path, FAKE_DRIVER),
            _config([1, 4]),
            Watch({"engine": {"idle": idle.pid}}),
            "fake",
            said.append,
            tmp_path / "driver.log",
        )
    finally:
        idle.kill()
        idle.wait()
    assert [r.concurrency for r in results] == [1, 4]
    r = results[1]
    assert r.subject == "fake"
    assert r.committed == 40 and r.failed == 1
    assert r.tps == pytest.approx(80.0)
    assert r.latencies == [0.25, 0.3, 0.9]
    assert r.errors == {"EndorseError: x": 1}
    # the driver burnt ~0.3 s of CPU between the two readings, the idle process none
    assert 0.2 <= r.cpu_seconds[CLIENT] <= 1.0
    assert r.cpu_seconds["engine"] < 0.05
    assert r.hwm_bytes[CLIENT] > 0 and r.hwm_bytes["engine"] > 0
    assert any("fake c=4: 80.0 tx/s" in s for s in said)
    assert any("1 x EndorseError: x" in s for s in said)


def test_run_driver_reports_the_drivers_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="load driver for fake failed: GatewayError: UNAVAILABLE"):
        run_driver(
            _script(tmp_path, FAILING_DRIVER), _config([1]), Watch(), "fake", lambda _m: None,
            tmp_path / "driver.log",
        )  # fmt: skip


def test_run_driver_names_the_log_when_the_driver_dies(tmp_path: Path) -> None:
    log = tmp_path / "driver.log"
    with pytest.raises(BenchError, match=r"exited \(code 3\)") as info:
        run_driver(_script(tmp_path, CRASHING_DRIVER), _config([1]), Watch(), "fake",
                   lambda _m: None, log)  # fmt: skip
    assert str(log) in str(info.value)
    assert "Traceback: something broke" in str(info.value)


def test_run_driver_names_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="cannot be started"):
        run_driver(["/no/such/node"], _config([1]), Watch(), "fake", lambda _m: None,
                   tmp_path / "driver.log")  # fmt: skip


def test_level_result_charges_cpu_between_the_readings() -> None:
    before = {"engine": ProcSample(10.0, 0, 50), "chaincode": ProcSample(1.0, 0, 5)}
    after = {"engine": ProcSample(14.8, 70, 80), "chaincode": ProcSample(1.5, 6, 7)}
    end = {"level": 50, "elapsed": 10.0, "committed": 1000, "failed": 0, "latencies_ms": [800.0]}
    r = level_result("embedded", end, before, after)
    assert r.cpu_per_tx("engine") == pytest.approx(0.0048)
    assert r.cpu_per_tx("chaincode") == pytest.approx(0.0005)
    assert r.hwm_bytes == {"engine": 80, "chaincode": 7}
    assert r.latencies == [0.8]
