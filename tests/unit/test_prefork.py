"""The pre-forking launcher, with real processes: it imports first, forks only once the plan is
written, and leaves each child an ordinary supervised process (own pid file, log, session)."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from network.paths import SandboxPaths
from network.prefork import python_module
from network.processes import ProcessError, Supervisor, port_open


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(cond, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def sup(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = Supervisor(SandboxPaths(tmp_path))
    yield s
    s.stop_all()


def test_children_are_forked_only_after_the_plan_and_run_as_python_dash_m(sup: Supervisor) -> None:
    port = _free_port()
    sup.start_preforked("launcher", ["http.server", "json"])
    time.sleep(0.5)  # long enough to import; nothing may start before the plan exists
    assert not port_open("127.0.0.1", port)
    assert sup.is_running("launcher")
    web = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    zen = [sys.executable, "-m", "this"]
    sup.release_preforked("launcher", [("web", web), ("zen", zen)])
    sup.await_preforked("launcher", ["web", "zen"])

    assert not sup.paths.pidfile("launcher").exists()
    assert _wait(lambda: port_open("127.0.0.1", port))
    web_pid = sup.pid("web")
    assert web_pid is not None and sup.is_running("web")
    assert os.getsid(web_pid) == web_pid  # its own session: stop signals its group alone
    assert Path(f"/proc/{web_pid}/comm").read_text().strip() == "web"  # its name in ps and top
    assert _wait(lambda: "Beautiful is better than ugly" in sup.paths.log("zen").read_text())
    assert "started web" in sup.paths.log("launcher").read_text()

    assert sup.stop("web")
    assert _wait(lambda: not port_open("127.0.0.1", port))
    assert not sup.paths.pidfile("web").exists()


def test_a_command_that_is_not_this_python_is_started_as_it_is(sup: Supervisor) -> None:
    assert python_module(["node", "server.js"]) is None
    assert python_module([sys.executable, "-m", "pkg.mod", "-x"]) == ("pkg.mod", ["-x"])
    # no launcher is needed for such a command, and none was started
    sup.release_preforked("launcher", [("shell", ["/bin/sh", "-c", "echo plain; sleep 30"])])
    sup.await_preforked("launcher", ["shell"])
    assert sup.is_running("shell")
    assert _wait(lambda: "plain" in sup.paths.log("shell").read_text())
    with pytest.raises(ProcessError, match="launcher was not started: nothing can fork zen"):
        sup.release_preforked("launcher", [("zen", [sys.executable, "-m", "this"])])


def test_a_preload_that_fails_is_reported_with_the_launcher_log(sup: Supervisor) -> None:
    sup.start_preforked("launcher", ["no_such_module_here"])
    sup.release_preforked("launcher", [("zen", [sys.executable, "-m", "this"])])
    with pytest.raises(ProcessError) as err:
        sup.await_preforked("launcher", ["zen"])
    text = str(err.value)
    assert "launcher did not start zen" in text and "no_such_module_here" in text
    assert "launcher.log" in text


def test_a_launcher_never_given_a_plan_gives_up(sup: Supervisor, tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "network.prefork",
        str(tmp_path / "never.json"),
        "--timeout",
        "0.3",
    ]
    sup.start("launcher", argv)
    assert _wait(lambda: not sup.is_running("launcher"))
    assert "no plan at" in sup.paths.log("launcher").read_text()


def test_an_interrupted_up_stops_the_launchers_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from network.embedded.engine import CHAINCODE_LAUNCHER, ENGINE_LAUNCHER
    from network.sandbox import Sandbox
    from network.topology import load_topology

    said: list[str] = []
    # ports only checked free, never opened: the crash test's band (CBP_TEST_PORT_OFFSET - 40),
    # not a fixed offset that another sandbox on the machine may hold
    offset = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) - 40
    sb = Sandbox(load_topology(port_offset=offset), SandboxPaths(tmp_path), say=said.append)

    def interrupted(engine: str) -> None:
        assert sb.supervisor.is_running(ENGINE_LAUNCHER)  # launched before identities are made
        raise KeyboardInterrupt

    monkeypatch.setattr(sb, "prepare", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sb.up("embedded")
    assert "start interrupted; stopping what was started" in said
    assert sb.supervisor.running() == []
    assert not sb.paths.pidfile(ENGINE_LAUNCHER).exists()
    assert not sb.paths.pidfile(CHAINCODE_LAUNCHER).exists()


def test_a_preload_that_starts_a_thread_is_refused_before_any_fork(
    sup: Supervisor, tmp_path: Path
) -> None:
    (tmp_path / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    sup.start_preforked("launcher", ["starts_a_thread"], env={"PYTHONPATH": str(tmp_path)})
    sup.release_preforked("launcher", [("zen", [sys.executable, "-m", "this"])])
    with pytest.raises(ProcessError) as err:
        sup.await_preforked("launcher", ["zen"])
    assert "2 threads are running after importing starts_a_thread" in str(err.value)
