"""Starting, watching and stopping the sandbox's processes, each by its own pid.

Every process gets a pid file under `run/` and a log under `logs/`; stopping sends SIGTERM to
its process group, waits, then SIGKILL, so that nothing the sandbox started outlives `down`.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from network.paths import SandboxPaths
from network.prefork import Child, python_module, write_plan

log = logging.getLogger(__name__)

WATCHDOG = "watchdog"  # the process that restarts the others (network/watchdog.py)


class ProcessError(RuntimeError):
    """A process of the sandbox could not start or died; the message names it and its log."""


@dataclass(frozen=True)
class Running:
    name: str
    pid: int
    log: Path


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); reap it if it is ours
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class Supervisor:
    def __init__(self, paths: SandboxPaths) -> None:
        self.paths = paths

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Running:
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        self.paths.run.mkdir(parents=True, exist_ok=True)
        logfile = self.paths.log(name)
        with open(logfile, "ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self.paths.pidfile(name).write_text(str(proc.pid))
        return Running(name, proc.pid, logfile)

    def start_preforked(
        self, launcher: str, preload: Sequence[str], env: dict[str, str] | None = None
    ) -> None:
        """Start a launcher that imports `preload`, then waits for `release_preforked` to say
        which processes to fork from it (see prefork.py): the imports run while the caller
        is still preparing what those processes will read."""
        plan = self._plan(launcher)
        plan.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "network.prefork", str(plan), "--preload", ",".join(preload)]
        self.start(launcher, argv, env=env)

    def release_preforked(
        self,
        launcher: str,
        children: Sequence[tuple[str, Sequence[str]]],
        env: dict[str, str] | None = None,
    ) -> None:
        """Start `children` (name, argv): those that run a module on this interpreter are
        forked by the launcher, any other is started as `start` would. Returns at once. With no
        launcher started, only children of the second kind may be given."""
        forked: list[Child] = []
        for name, argv in children:
            self.paths.pidfile(name).unlink(missing_ok=True)  # a stale one would pass for started
            module = python_module(argv)
            if module is None:
                self.start(name, argv, env=env)
                continue
            log, pidfile = self.paths.log(name), self.paths.pidfile(name)
            forked.append(Child(name, module[0], module[1], str(log), str(pidfile)))
        if forked and self.pid(launcher) is None:
            raise ProcessError(f"{launcher} was not started: nothing can fork {forked[0].name}")
        write_plan(self._plan(launcher), forked)

    def await_preforked(self, launcher: str, names: Sequence[str], timeout: float = 60) -> None:
        """Wait until the launcher has exited; fail, naming its log, for any of `names` it did
        not start."""
        pid = self.pid(launcher)
        deadline = time.monotonic() + timeout
        while pid is not None and pid_alive(pid):
            if time.monotonic() > deadline:
                raise ProcessError(
                    f"{launcher} still forking after {timeout:.0f} s; read "
                    f"{self.paths.log(launcher)}:\n" + tail(self.paths.log(launcher))
                )
            time.sleep(0.01)
        self.paths.pidfile(launcher).unlink(missing_ok=True)
        self._plan(launcher).unlink(missing_ok=True)
        missing = [n for n in names if self.pid(n) is None]
        if missing:
            raise ProcessError(
                f"{launcher} did not start {', '.join(missing)}; read "
                f"{self.paths.log(launcher)}:\n" + tail(self.paths.log(launcher))
            )

    def _plan(self, launcher: str) -> Path:
        return self.paths.run / f"{launcher}.json"

    def pid(self, name: str) -> int | None:
        try:
            return int(self.paths.pidfile(name).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> list[Running]:
        out: list[Running] = []
        if not self.paths.run.exists():
            return out
        for f in sorted(self.paths.run.glob("*.pid")):
            name = f.stem
            pid = self.pid(name)
            if pid is not None and pid_alive(pid):
                out.append(Running(name, pid, self.paths.log(name)))
        return out

    def is_running(self, name: str) -> bool:
        pid = self.pid(name)
        return pid is not None and pid_alive(pid)

    def wait_until(self, name: str, ready: Callable[[], bool], timeout: float, what: str) -> float:
        """Wait for `ready()`; fail at once, naming the log, if the process dies first."""
        start = time.monotonic()
        pid = self.pid(name)
        while True:
            if ready():
                return time.monotonic() - start
            if pid is None or not pid_alive(pid):
                raise ProcessError(
                    f"{name} died while starting ({what}); read {self.paths.log(name)}:\n"
                    + tail(self.paths.log(name))
                )
            if time.monotonic() - start > timeout:
                raise ProcessError(
                    f"{name} not {what} after {timeout:.0f} s; read {self.paths.log(name)}:\n"
                    + tail(self.paths.log(name))
                )
            time.sleep(0.01)

    def stop(self, name: str, grace: float = 10.0) -> bool:
        pid = self.pid(name)
        pidfile = self.paths.pidfile(name)
        if pid is None:
            return False
        # the pid file goes first: the watchdog restarts only processes that still have one
        pidfile.unlink(missing_ok=True)
        stopped = False
        if pid_alive(pid):
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            if pid_alive(pid):
                log.warning("%s (pid %d) ignored SIGTERM for %.0f s; killing it", name, pid, grace)
                _signal_group(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(0.01)
            stopped = True
        return stopped

    def stop_all(self) -> list[str]:
        names = (
            [f.stem for f in sorted(self.paths.run.glob("*.pid"))]
            if self.paths.run.exists()
            else []
        )
        # the watchdog first, or it would start again what is being stopped; chaincode servers
        # last: the engine may still be talking to them while it shuts down
        names.sort(key=lambda n: (n != WATCHDOG, n.startswith("chaincode-")))
        stopped = [n for n in names if self.stop(n)]
        if self.paths.run.exists():  # nothing left to restart, no restarts to report
            for f in self.paths.run.glob("*.restart.json"):
                f.unlink(missing_ok=True)
            (self.paths.run / "watchdog.json").unlink(missing_ok=True)
        return stopped


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "  (no log written)"
    return "\n".join("  | " + line for line in text[-lines:])
