"""The sandbox's watchdog: a process of the sandbox that dies is started again, with back-off.

`cbp network up` starts it last (`python -m network.watchdog --home <CBP_HOME>`, process name
`watchdog`) and `down` stops it first. It watches every process that has a recipe under
`run/` (`write_recipe`, called by whoever starts the process: the engines for their nodes and
chaincode servers, `cbp connector up` for connectors; beside the pid file: the command, its
environment, and how to tell it is ready: a port that accepts connections or a word in its
log). When one dies it logs why (the signal or exit status, when it can know it), waits its
back-off, starts the command again with output appended to the same log (after a line saying
so), and logs when the new process is ready and how long the outage lasted.
`run/watchdog.json` keeps, per process, the restarts so far and what the watchdog is doing,
for `cbp network status`.

A process whose pid file is gone was stopped on purpose (`Supervisor.stop` removes the file
before it signals), so the watchdog lets it be. Back-off: the first restart is immediate, the
next ones wait 1, 2, 4, 8, 16 then 30 s while the process keeps dying before it is ready or
within `STABLE_AFTER` seconds of being ready; a process that stays up that long starts afresh.

Deaths are noticed at once through Linux's pidfd (one file descriptor per watched process,
readable when it exits), and by polling every half second where pidfd is missing.

Nothing watches the watchdog: `cbp network status` shows it DEAD, and `cbp network up` starts
it again alone (after waiting for any restart it had in progress).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hardening.logs import configure as configure_logging
from network.paths import SandboxPaths, sandbox_paths
from network.processes import WATCHDOG, Supervisor, pid_alive, port_open

log = logging.getLogger("watchdog")

STATE_FILE = "watchdog.json"
RECIPE_SUFFIX = ".restart.json"
POLL = 0.5
STABLE_AFTER = 30.0
MAX_DELAY = 30.0
READY_TIMEOUT = 120.0  # a restarted process not ready by then is killed and tried again


@dataclass(frozen=True)
class Recipe:
    """How to start a process again and how to know it is ready."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to the watchdog's environment
    cwd: str | None = None
    ready_port: int | None = None
    ready_host: str = "127.0.0.1"
    ready_log: str | None = None  # a word the process writes to its log once it serves


def recipe_path(paths: SandboxPaths, name: str) -> Path:
    return paths.run / f"{name}{RECIPE_SUFFIX}"


def write_recipe(paths: SandboxPaths, recipe: Recipe) -> None:
    paths.run.mkdir(parents=True, exist_ok=True)
    target = recipe_path(paths, recipe.name)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(asdict(recipe)))
    os.chmod(tmp, 0o600)  # the environment may name key files
    tmp.replace(target)


def read_recipes(paths: SandboxPaths) -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    if not paths.run.exists():
        return out
    for f in sorted(paths.run.glob(f"*{RECIPE_SUFFIX}")):
        try:
            recipe = Recipe(**json.loads(f.read_text()))
        except (OSError, ValueError, TypeError):
            continue  # being written, or not ours
        out[recipe.name] = recipe
    return out


def read_state(paths: SandboxPaths) -> dict[str, dict[str, Any]]:
    """Per process: restarts, state (watching, waiting, starting), last death, last outage."""
    try:
        data = json.loads((paths.run / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def backoff(failures: int) -> float:
    """Seconds before the next start, after `failures` deaths in a row (the first is free)."""
    return 0.0 if failures <= 0 else min(MAX_DELAY, 2.0 ** (failures - 1))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _how_it_ended(status: int | None) -> str:
    if status is None:
        return "died"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"was killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"was killed by signal {sig}"
    return f"exited with status {os.WEXITSTATUS(status)}"


@dataclass
class _Watched:
    recipe: Recipe
    pid: int
    pidfd: int | None
    # set while a restarted process is not ready yet
    starting_since: float | None = None
    died_at: float | None = None
    log_offset: int = 0
    ready_at: float | None = None
    failures: int = 0


@dataclass
class _Pending:
    recipe: Recipe
    at: float  # monotonic time of the next start
    died_at: float
    failures: int


class Watchdog:
    def __init__(self, paths: SandboxPaths) -> None:
        self.paths = paths
        self.watched: dict[str, _Watched] = {}
        self.pending: dict[str, _Pending] = {}
        self.state: dict[str, dict[str, Any]] = read_state(paths)
        self.children: set[int] = set()
        self._stop = False

    # ---- bookkeeping -------------------------------------------------------------------------

    def _pid(self, name: str) -> int | None:
        try:
            return int(self.paths.pidfile(name).read_text().strip())
        except (OSError, ValueError):
            return None

    def _save(self) -> None:
        target = self.paths.run / STATE_FILE
        tmp = target.with_name(target.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
            tmp.replace(target)
        except OSError:  # `down` may be removing the folder
            pass

    def _entry(self, name: str) -> dict[str, Any]:
        return self.state.setdefault(name, {"restarts": 0, "state": "watching"})

    def _watch(self, recipe: Recipe, pid: int, **kw: Any) -> None:
        old = self.watched.pop(recipe.name, None)
        if old is not None and old.pidfd is not None:
            os.close(old.pidfd)
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None  # no pidfd here, or the process is already gone: polled instead
        self.watched[recipe.name] = _Watched(recipe, pid, pidfd, **kw)

    def _unwatch(self, name: str) -> None:
        w = self.watched.pop(name, None)
        if w is not None and w.pidfd is not None:
            os.close(w.pidfd)

    def scan(self) -> None:
        """Take up new recipes and pid files; let go of what was stopped on purpose."""
        recipes = read_recipes(self.paths)
        for name in list(self.watched):
            if name not in recipes or self._pid(name) is None:
                self._unwatch(name)
        for name in list(self.pending):
            if self._pid(name) is None or name not in recipes:
                log.info("%s was stopped on purpose; not restarting it", name)
                del self.pending[name]
                self._entry(name)["state"] = "stopped"
        for name, recipe in recipes.items():
            pid = self._pid(name)
            if pid is None or name in self.pending:
                continue
            w = self.watched.get(name)
            if w is None or w.pid != pid:
                if pid_alive(pid):
                    self._watch(recipe, pid)
                    self._entry(name)["state"] = "watching"
                    self._save()
                elif w is None:
                    # dead before we ever saw it alive: `up` failed, or it died while we started
                    self._died(recipe, pid, None, failures=0)

    # ---- deaths and restarts ---------------------------------------------------------------------

    def _reap(self, pid: int) -> int | None:
        if pid not in self.children:
            return None
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done == 0:
            return None
        self.children.discard(pid)
        return status

    def _died(self, recipe: Recipe, pid: int, status: int | None, *, failures: int) -> None:
        name = recipe.name
        self._unwatch(name)
        if self._pid(name) != pid:
            return  # stopped on purpose, or already replaced by `up`
        now = time.monotonic()
        delay = backoff(failures)
        entry = self._entry(name)
        entry.update(state="waiting" if delay else "starting", lastDeath=_now())
        log.warning(
            "%s (pid %d) %s; starting it again %s (restart %d)",
            name,
            pid,
            _how_it_ended(status),
            f"in {delay:.0f} s" if delay else "now",
            entry["restarts"] + 1,
        )
        self.pending[name] = _Pending(recipe, now + delay, now, failures + 1)
        self._save()

    def _start(self, p: _Pending) -> None:
        recipe = p.recipe
        name = recipe.name
        logfile = self.paths.log(name)
        entry = self._entry(name)
        entry["restarts"] += 1
        try:
            offset = logfile.stat().st_size
        except OSError:
            offset = 0
        try:
            with open(logfile, "ab") as out:
                out.write(
                    f"--- {_now()} restarted by the sandbox watchdog "
                    f"(restart {entry['restarts']}) ---\n".encode()
                )
                out.flush()
                proc = subprocess.Popen(
                    recipe.argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **recipe.env},
                    cwd=recipe.cwd,
                    start_new_session=True,
                )
        except OSError as exc:
            log.error("%s could not be started again: %s", name, exc)
            self.pending[name] = _Pending(
                recipe, time.monotonic() + backoff(p.failures), p.died_at, p.failures + 1
            )
            return
        self.children.add(proc.pid)
        tmp = self.paths.pidfile(name).with_suffix(".pid.tmp")
        tmp.write_text(str(proc.pid))
        tmp.replace(self.paths.pidfile(name))
        entry["state"] = "starting"
        entry["pid"] = proc.pid
        self._watch(
            recipe,
            proc.pid,
            starting_since=time.monotonic(),
            died_at=p.died_at,
            log_offset=offset,
            failures=p.failures,
        )
        log.info("%s started again as pid %d", name, proc.pid)
        self._save()

    def _ready(self, w: _Watched) -> bool:
        r = w.recipe
        if r.ready_port is not None and not port_open(r.ready_host, r.ready_port):
            return False
        if r.ready_log is not None:
            try:
                with open(self.paths.log(r.name), "rb") as f:
                    f.seek(w.log_offset)
                    if r.ready_log.encode() not in f.read():
                        return False
            except OSError:
                return False
        return True

    def _check_starting(self) -> None:
        now = time.monotonic()
        for name, w in list(self.watched.items()):
            if w.starting_since is not None:
                if self._ready(w):
                    outage = now - (w.died_at or w.starting_since)
                    entry = self._entry(name)
                    entry.update(state="watching", lastOutageSeconds=round(outage, 3))
                    log.info("%s is back (pid %d): %.2f s after it died", name, w.pid, outage)
                    w.starting_since, w.ready_at = None, now
                    self._save()
                elif now - w.starting_since > READY_TIMEOUT:
                    log.error(
                        "%s (pid %d) not ready after %.0f s; killing it", name, w.pid, READY_TIMEOUT
                    )
                    try:
                        os.killpg(w.pid, signal.SIGKILL)
                    except OSError:
                        pass
            elif w.ready_at is not None and w.failures and now - w.ready_at > STABLE_AFTER:
                w.failures = 0  # up long enough: the next death restarts at once again

    # ---- the loop ----------------------------------------------------------------------------

    def stop(self, *_: object) -> None:
        self._stop = True

    def run(self) -> None:
        log.info("watching the sandbox's processes in %s", self.paths.home)
        while not self._stop:
            self.scan()
            now = time.monotonic()
            for name, p in list(self.pending.items()):
                if p.at <= now:
                    del self.pending[name]
                    self._start(p)
            self._check_starting()
            fds = {w.pidfd: w for w in self.watched.values() if w.pidfd is not None}
            wait = POLL
            if self.pending:
                wait = max(0.0, min(wait, min(p.at for p in self.pending.values()) - now))
            if any(w.starting_since is not None for w in self.watched.values()):
                wait = min(wait, 0.02)  # readiness is what the outage is measured by
            try:
                readable, _, _ = select.select(list(fds), [], [], wait)
            except InterruptedError:
                continue
            for fd in readable:
                w = fds[fd]
                self._died(w.recipe, w.pid, self._reap(w.pid), failures=w.failures)
            for w in [w for w in self.watched.values() if w.pidfd is None]:
                if not pid_alive(w.pid):
                    self._died(w.recipe, w.pid, self._reap(w.pid), failures=w.failures)
            # children stopped on purpose are no longer watched: reap them all the same
            watched = {w.pid for w in self.watched.values()}
            for pid in [c for c in self.children if c not in watched]:
                self._reap(pid)
        log.info("stopping")


# ---- what the sandbox calls ----------------------------------------------------------------


def start_watchdog(supervisor: Supervisor, env: dict[str, str] | None = None) -> None:
    """Start the watchdog for the sandbox of `supervisor`, unless it runs already."""
    if supervisor.is_running(WATCHDOG):
        return
    argv = [sys.executable, "-m", "network.watchdog", "--home", str(supervisor.paths.home)]
    supervisor.start(WATCHDOG, argv, env=env)


def restarting(supervisor: Supervisor) -> list[str]:
    """The processes the running watchdog is bringing back (or is about to: it notices a
    death within milliseconds); empty when no watchdog runs."""
    if not supervisor.is_running(WATCHDOG):
        return []
    state = read_state(supervisor.paths)
    busy = {n for n, e in state.items() if e.get("state") in ("waiting", "starting")}
    for name in read_recipes(supervisor.paths):
        pid = supervisor.pid(name)
        if pid is not None and not pid_alive(pid):
            busy.add(name)
    return sorted(busy)


def settle(supervisor: Supervisor, timeout: float = 60.0) -> bool:
    """Wait until the watchdog has brought back every process it is restarting."""
    deadline = time.monotonic() + timeout
    while restarting(supervisor):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m network.watchdog", description=__doc__)
    parser.add_argument("--home", required=True, type=Path, help="the sandbox folder (CBP_HOME)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    dog = Watchdog(sandbox_paths(args.home))
    signal.signal(signal.SIGTERM, dog.stop)
    signal.signal(signal.SIGINT, dog.stop)
    dog.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
