"""Starting Python processes from an interpreter that has already imported what they need, as
gunicorn's `preload_app` and Android's zygote do.

Importing grpc, protobuf, cryptography and pydantic costs each sandbox process about 0.3-0.5 s
of CPU: on a 2-core machine, most of start-up. `python -m network.prefork --preload m1,m2 PLAN`
imports the modules first, while the sandbox is still writing identities and genesis blocks,
then waits for the plan file (written once they exist), forks one child per process in it, and
exits. Each child starts its own session, appends to its own log and runs its module as
`python -m <module> <args>` would; the launcher writes each child's pid file in the
supervisor's format. From then on a child is an ordinary sandbox process: stopped by its pid,
its log where the supervisor expects it. A child keeps the launcher's command line (`ps aux`)
but takes its own name as the process name (`ps -e`, `top`), cut to Linux's 15 characters.

Forking is safe because the launcher has started no thread: importing grpc starts none (its
core initialises when a channel or server is first made, in the child).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
import json
import os
import runpy
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

PLAN_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Child:
    """One process: `python -m <module> <args>`, its output appended to `log`. It inherits the
    launcher's environment and working directory."""

    name: str
    module: str
    args: list[str]
    log: str
    pidfile: str


def write_plan(path: Path, children: Sequence[Child]) -> None:
    # write then rename: the launcher never reads half a plan
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps([asdict(c) for c in children]))
    tmp.replace(path)


def read_plan(path: Path) -> list[Child]:
    return [Child(**c) for c in json.loads(path.read_text())]


def python_module(argv: Sequence[str]) -> tuple[str, list[str]] | None:
    """`(module, args)` when `argv` runs a module on this very interpreter (`<python> -m mod
    args...`), the only kind of command a fork of this interpreter can stand in for."""
    if len(argv) >= 3 and argv[0] == sys.executable and argv[1] == "-m":
        return argv[2], list(argv[3:])
    return None


def _write_pid(path: str, pid: int) -> None:
    tmp = Path(path + ".tmp")
    tmp.write_text(str(pid))
    tmp.replace(path)


def _set_process_name(name: str) -> None:
    """Linux's process name (prctl PR_SET_NAME), which threads started later inherit."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15] + b"\0", 0, 0, 0)  # 15 = PR_SET_NAME
    except (OSError, AttributeError):  # not Linux: the name is cosmetic
        pass


def _become(child: Child) -> int:
    """In the forked child: detach, take the child's log, run its module; its exit code."""
    os.setsid()
    _set_process_name(child.name)
    out = os.open(child.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(devnull)
    gc.enable()
    sys.argv = [child.module, *child.args]
    try:
        runpy.run_module(child.module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0


def _fork(child: Child) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        code = _become(child)
    except BaseException:  # the child must never return into the launcher's loop
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _thread_count() -> int:
    """Threads of this process, C ones included (grpc's would not show in `threading`)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # no procfs: nothing to check against
        return 1


def _wait_for(plan: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not plan.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no plan at {plan} after {timeout:.0f} s")
        time.sleep(0.005)


def launch(preload: Sequence[str], plan: Path, timeout: float = PLAN_WAIT_SECONDS) -> None:
    gc.disable()  # imports make many long-lived objects; scanning them is wasted work
    for name in preload:
        importlib.import_module(name)
    threads = _thread_count()
    if threads > 1:
        # a lock held by another thread at fork time stays held forever in the child
        raise RuntimeError(
            f"{threads} threads are running after importing {', '.join(preload)}: forking now "
            "could deadlock a child; start these processes without the launcher"
        )
    _wait_for(plan, timeout)
    children = read_plan(plan)
    gc.freeze()  # what the children share stays shared: no collection touches its pages
    for child in children:
        pid = _fork(child)
        _write_pid(child.pidfile, pid)
        print(f"started {child.name} (pid {pid}): python -m {child.module}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m network.prefork", description=__doc__)
    parser.add_argument("plan", type=Path, help="JSON plan; waited for when not there yet")
    parser.add_argument("--preload", default="", help="modules to import first, comma-separated")
    parser.add_argument("--timeout", type=float, default=PLAN_WAIT_SECONDS)
    args = parser.parse_args(argv)
    try:
        launch([m for m in args.preload.split(",") if m], args.plan, args.timeout)
    except (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError) as exc:
        print(f"network.prefork: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
