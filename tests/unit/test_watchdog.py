"""The sandbox's watchdog on real processes (small Python sleepers, no network): a process
that dies is started again from its recipe with a line in its log, its restarts are counted,
a process stopped on purpose stays stopped, and one that keeps dying backs off."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from network.paths import SandboxPaths
from network.processes import Supervisor, pid_alive
from network.watchdog import Recipe, Watchdog, backoff, read_state, restarting, write_recipe

SLEEPER = [sys.executable, "-c", "import time; print('SERVING', flush=True); time.sleep(120)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[SandboxPaths, Supervisor, Watchdog]]:
    paths = SandboxPaths(tmp_path)
    supervisor = Supervisor(paths)
    dog = Watchdog(paths)
    thread = threading.Thread(target=dog.run, daemon=True)
    thread.start()
    try:
        yield paths, supervisor, dog
    finally:
        dog.stop()
        thread.join(5)
        supervisor.stop_all()


def test_watchdog_backoff_is_free_once_then_doubles_to_30_s() -> None:
    assert [backoff(n) for n in range(8)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_watchdog_restarts_a_killed_process_and_counts_it(
    sandbox: tuple[SandboxPaths, Supervisor, Watchdog],
) -> None:
    paths, supervisor, _ = sandbox
    supervisor.start("sleeper", SLEEPER)
    write_recipe(paths, Recipe("sleeper", SLEEPER, {}, ready_log="SERVING"))
    first = supervisor.pid("sleeper")
    assert first is not None
    until(lambda: read_state(paths).get("sleeper", {}).get("state") == "watching")
    os.kill(first, signal.SIGKILL)
    until(lambda: supervisor.pid("sleeper") not in (None, first))
    until(lambda: read_state(paths)["sleeper"]["state"] == "watching")
    second = supervisor.pid("sleeper")
    assert second is not None and pid_alive(second)
    state = read_state(paths)["sleeper"]
    assert state["restarts"] == 1
    assert 0 < state["lastOutageSeconds"] < 10
    log = paths.log("sleeper").read_text()
    assert "restarted by the sandbox watchdog (restart 1)" in log
    assert log.count("SERVING") == 2
    assert restarting(supervisor) == []  # no watchdog process: nothing reported as pending


def test_watchdog_leaves_a_process_stopped_on_purpose(
    sandbox: tuple[SandboxPaths, Supervisor, Watchdog],
) -> None:
    paths, supervisor, _ = sandbox
    supervisor.start("sleeper", SLEEPER)
    write_recipe(paths, Recipe("sleeper", SLEEPER, {}, ready_log="SERVING"))
    until(lambda: "sleeper" in read_state(paths))
    assert supervisor.stop("sleeper")
    time.sleep(1.0)  # two of the watchdog's polls
    assert supervisor.pid("sleeper") is None
    assert read_state(paths)["sleeper"]["restarts"] == 0


def test_watchdog_backs_off_a_process_that_keeps_dying(
    sandbox: tuple[SandboxPaths, Supervisor, Watchdog],
) -> None:
    paths, supervisor, _ = sandbox
    supervisor.start("crasher", SLEEPER)  # healthy at first, then its command breaks
    write_recipe(paths, Recipe("crasher", CRASHER, {}, ready_log="SERVING"))
    until(lambda: "crasher" in read_state(paths))
    pid = supervisor.pid("crasher")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # restart 1 at once, restart 2 after 1 s, restart 3 after 2 s more: then waiting 4 s
    until(lambda: read_state(paths)["crasher"]["restarts"] >= 3, timeout=20)
    until(lambda: read_state(paths)["crasher"]["state"] == "waiting")
    log = paths.log("crasher").read_text()
    assert "restarted by the sandbox watchdog (restart 3)" in log
    watchdog_says = read_state(paths)["crasher"]
    assert "lastOutageSeconds" not in watchdog_says  # never came back ready
