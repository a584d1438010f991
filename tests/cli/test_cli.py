"""Every `cbp` command and subcommand: `--help`, and the bad inputs a user types, on a running
sandbox, a stopped one and (where it matters) a fresh folder.

A refusal is exit 2 with ONE line on stderr naming the problem and the way out; nothing
anywhere prints a traceback. Commands added later are covered twice over: the argparse walk
checks every parser's `--help` and what it says when its required arguments are missing, with
no change here; their bad inputs are one `Row` each in ROWS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from cli_places import REPO, Place

from cbp.cli import build_parser, main

pytestmark = pytest.mark.timeout(180)

ISSUE_NUMBER = re.compile(r"\b[Ii]ssues? #?\d+|\(#\d+\)")
TX0 = "0" * 64


@dataclass(frozen=True)
class Row:
    """One command line. `says` is what the output must contain: stderr when it is refused,
    stdout when it succeeds; `on` overrides (exit, says) per sandbox state."""

    argv: tuple[str, ...]
    exit: int = 2
    says: str = ""
    on: dict[str, tuple[int, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    states: tuple[str, ...] = ("running", "stopped")

    def expected(self, state: str) -> tuple[int, str]:
        return self.on.get(state, (self.exit, self.says))

    @property
    def id(self) -> str:
        return " ".join(self.argv) or "(nothing)"


STOPPED = (2, "is the sandbox running? start it with `cbp network up`")
NO_PROFILE = (2, "connection profile")
ROWS = [
    # ---- cbp itself ------------------------------------------------------------------------
    Row((), says="the following arguments are required: COMMAND; see `cbp --help`"),
    Row(("nosuch",), says="invalid choice: 'nosuch'"),
    Row(("--bogus", "network", "status"), says="unrecognized arguments: --bogus"),
    # ---- network ---------------------------------------------------------------------------
    Row(("network",), says="required: ACTION; see `cbp network --help`"),
    Row(("network", "sideways"), says="invalid choice: 'sideways'"),
    Row(("network", "up", "--engine", "foo"), says="argument --engine: invalid choice: 'foo'"),
    Row(("network", "up", "--raft", "2"), says="argument --raft: invalid choice: 2"),
    Row(("network", "up", "--raft", "x"), says="argument --raft: invalid int value: 'x'"),
    Row(("network", "status", "--bogus"), says="unrecognized arguments: --bogus"),
    Row(
        ("network", "status"),
        on={"running": (0, "state: up"), "stopped": (0, "state: down"), "fresh": (0, "down")},
        states=("running", "stopped", "fresh"),
    ),
    Row(
        ("network", "status", "--topology", "/nonexistent.yaml"),
        says="topology file /nonexistent.yaml not found",
    ),
    Row(("network", "status", "--topology", "/etc/passwd"), says="topology file /etc/passwd:"),
    Row(
        ("network", "status"),
        env={"CBP_PORT_OFFSET": "abc"},
        says="CBP_PORT_OFFSET='abc' is not a whole number",
    ),
    Row(
        ("network", "status"),
        env={"CBP_PORT_OFFSET": "30000"},
        says="port offset 30000 (CBP_PORT_OFFSET): the sandbox's ports run from 7050",
    ),
    Row(
        ("network", "up", "--engine", "fabric"),
        env={"FABRIC_BIN": "/nonexistent-fabric-bin"},
        on={
            "running": (2, "already running on the embedded engine; run `cbp network down`"),
            "stopped": (2, "FABRIC_BIN=/nonexistent-fabric-bin is not a folder; install"),
            "fresh": (2, "FABRIC_BIN=/nonexistent-fabric-bin is not a folder; install"),
        },
        states=("running", "stopped", "fresh"),
    ),
    # ---- audit -----------------------------------------------------------------------------
    Row(("audit",), says="required: WHAT; see `cbp audit --help`"),
    Row(("audit", "block"), says="required: channel, NUMBER"),
    Row(("audit", "block", "bsp1-channel", "abc"), says="block number 'abc' is not a whole number"),
    Row(("audit", "block", "bsp1-channel", "-1"), says="block number '-1' is not a whole number"),
    Row(
        ("audit", "block", "no-such-channel", "0"),
        says="channel 'no-such-channel' is unknown; channels: bsp1-channel, bsp2-channel",
        on={"fresh": NO_PROFILE},
        states=("running", "stopped", "fresh"),
    ),
    Row(
        ("audit", "block", "bsp1-channel", "999"),
        on={"running": (2, "block 999 is not on bsp1-channel: its height is"), "stopped": STOPPED},
    ),
    Row(
        ("audit", "block", "bsp1-channel", "0"),
        on={"running": (0, "block 0"), "stopped": STOPPED, "fresh": NO_PROFILE},
        states=("running", "stopped", "fresh"),
    ),
    Row(("audit", "tx", "bsp1-channel", "nope"), says="transaction id 'nope' is not 64 hex digits"),
    Row(
        ("audit", "tx", "bsp1-channel", TX0),
        on={"running": (2, f"no transaction {TX0} on bsp1-channel"), "stopped": STOPPED},
    ),
    Row(("audit", "history", "bsp1-channel"), says="required: KEY"),
    Row(
        ("audit", "history", "bsp1-channel", "IT002E00112233", "--org", "nosuchorg"),
        says="--org nosuchorg: no such organization; orgs: areti, bsp1",
    ),
    Row(
        ("audit", "history", "bsp1-channel", "IT002E00112233", "--user", "Bob"),
        says="--user Bob: tso has no such user; users: Admin, User1",
    ),
    Row(
        ("audit", "history", "bsp1-channel", "IT002E00112233", "--profile", "/nonexistent.json"),
        says="connection profile /nonexistent.json does not exist",
    ),
    Row(
        ("audit", "history", "bsp1-channel", "IT002E00112233"),
        on={"running": (2, "is not an admitted participant of this registry"), "stopped": STOPPED},
    ),
    Row(
        ("audit", "block", "bsp1-channel", "0", "--org", "bsp2"),
        on={"running": (2, "bsp2 may not read bsp1-channel"), "stopped": STOPPED},
    ),
    Row(
        ("audit", "verify", "bsp1-channel"),
        on={"running": (0, "OK: channel bsp1-channel"), "stopped": STOPPED},
    ),
    Row(
        ("audit", "verify", "bsp1-channel", "--block-file", "/etc/passwd"),
        says="--block-file /etc/passwd is not a block file: it is in neither Fabric's block",
    ),
    Row(
        ("audit", "verify", "bsp1-channel", "--block-file", "/nonexistent"),
        says="--block-file /nonexistent: no such file or folder",
    ),
    # ---- chaincode -------------------------------------------------------------------------
    Row(("chaincode",), says="required: ACTION; see `cbp chaincode --help`"),
    Row(("chaincode", "serve"), says="required: module:Class"),
    Row(
        ("chaincode", "serve", "chaincode.smoke:SmokeContract"),
        says="address is required (--address or CHAINCODE_SERVER_ADDRESS)",
        env={"CHAINCODE_SERVER_ADDRESS": ""},
    ),
    Row(
        ("chaincode", "serve", "nosuch.module:Thing", "--address", "127.0.0.1:1"),
        says="contract module 'nosuch.module' cannot be imported",
        env={"CORE_CHAINCODE_ID_NAME": "x:1"},
    ),
    Row(
        ("chaincode", "serve", "chaincode.registry:RegistryContract", "--address", "127.0.0.1:1"),
        says="the chaincode has no config (--config or CHAINCODE_CONFIG)",
        env={"CORE_CHAINCODE_ID_NAME": "registry:1", "CHAINCODE_CONFIG": ""},
    ),
    Row(
        ("chaincode", "serve", "chaincode.smoke:SmokeContract", "--address", "127.0.0.1:1"),
        says="config /nonexistent.json (CHAINCODE_CONFIG) is not a readable file",
        env={"CORE_CHAINCODE_ID_NAME": "smoke:1", "CHAINCODE_CONFIG": "/nonexistent.json"},
    ),
    Row(
        ("chaincode", "serve", "chaincode.smoke:SmokeContract", "--log-level", "loud"),
        says="argument --log-level: invalid choice: 'LOUD'",
    ),
    # ---- connector, pod, uvam, load, op ------------------------------------------------------
    Row(("connector",), says="required: action"),
    Row(
        ("connector", "up", "--org", "nosuch"),
        says="organisation 'nosuch' has no connector in the topology; these do: tso",
    ),
    Row(
        ("connector", "up", "--org", "bsp1"),
        on={"fresh": (2, "the sandbox is not set up here; start it first with `cbp network up`")},
        states=("fresh",),
    ),
    Row(("pod", "bogus"), says="argument action: invalid choice: 'bogus'"),
    Row(
        ("pod", "show", "IT002E00112233"),
        says="say which organisation's connector: --org bsp1",
        env={"CBP_ORG": ""},
    ),
    Row(("uvam", "bogus"), says="argument action: invalid choice: 'bogus'"),
    Row(("op", "bogus"), says="argument action: invalid choice: 'bogus'"),
    Row(("load", "/nonexistent.csv"), says="cannot read /nonexistent.csv"),
    # ---- simulate, routing -----------------------------------------------------------------
    Row(("simulate", "routing", "--evs", "-1"), says="--evs -1: the fleet holds 1 to 500 EVs"),
    Row(("routing", "serve", "--port", "abc"), says="argument --port: invalid int value: 'abc'"),
    # ---- bench -----------------------------------------------------------------------------
    Row(("bench",), says="required: bench"),
    Row(("bench", "ledger", "--concurrency", "abc"), says="--concurrency 'abc': 'abc' is not"),
    Row(("bench", "ledger", "--concurrency", "0"), says="must be between 1 and 1000"),
    Row(("bench", "ledger", "--duration", "0"), says="--duration 0.0: must be more than 0"),
    Row(("bench", "chaincode", "--rounds", "0"), says="--rounds 0: must be 1 or more"),
    Row(("bench", "ledger", "--engines", "foo"), says="engines are embedded, fabric"),
    Row(("bench", "registry", "--port-offset", "99999"), says="--port-offset 99999: "),
    Row(
        ("bench", "gateway", "--home", "/nonexistent"),
        says="no connection profile at /nonexistent/connection-profile.json: start the sandbox",
    ),
    Row(
        ("bench", "ledger", "--profile", "/nonexistent.json"),
        says="--profile /nonexistent.json: no such file",
    ),
    Row(("bench", "faults", "--only", "bogus"), says="parts are kills, input, tenants"),
    Row(("bench", "faults", "--kills", "-1"), says="--kills -1: must be 0 or more"),
    Row(("bench", "faults", "--inputs", "0"), says="--inputs 0: must be 1 or more"),
    Row(("bench", "faults", "--raft", "2"), says="argument --raft: invalid choice: 2"),
    Row(("bench", "faults", "--port-offset", "99999"), says="--port-offset 99999: "),
    Row(
        ("bench", "faults"),
        env={"CBP_PORT_OFFSET": "abc"},
        says="CBP_PORT_OFFSET='abc' is not a whole number",
    ),
    Row(("bench", "faults", "--home", "/nonexistent"), says="no sandbox in /nonexistent"),
]


def _cases() -> Iterator[object]:
    for row in ROWS:
        for state in row.states:
            yield pytest.param(row, state, id=f"{state}: cbp {row.id}")


@pytest.mark.parametrize(("row", "state"), list(_cases()))
def test_cli_row(row: Row, state: str, place: Place) -> None:
    exit_code, says = row.expected(state)
    done = place.cbp(*row.argv, env=row.env)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == exit_code, done.stderr or done.stdout
    if exit_code == 0:
        assert says in done.stdout, done.stdout
        assert done.stderr == ""
        return
    lines = done.stderr.splitlines()
    assert len(lines) == 1, f"a refusal is one line, not:\n{done.stderr}"
    assert says in lines[0], lines[0]


def test_cli_fabric_without_binaries_writes_nothing(fresh: Place) -> None:
    """`cbp network up --engine fabric` without binaries refuses before writing identities."""
    done = fresh.cbp("network", "up", "--engine", "fabric", env={"FABRIC_BIN": "/nonexistent"})
    assert done.returncode == 2, done.stderr
    assert not (fresh.home / "crypto").exists()
    assert not (fresh.home / "connection-profile.json").exists()


def test_cli_status_into_a_closed_pipe_is_quiet(running: Place) -> None:
    """`cbp network status | head -1`: the reader leaves early; no BrokenPipeError."""
    done = subprocess.run(
        "python -m cbp network status | head -1",
        shell=True,
        executable="/bin/bash",
        cwd=REPO,
        env=running.environ(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("engine: embedded   state: up"), done.stdout
    assert done.stderr == ""


# ---- the argparse walk: every parser, found, not listed ---------------------------------------


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


PARSERS = list(_parsers(build_parser()))


def _required(parser: argparse.ArgumentParser) -> bool:
    """Whether the parser refuses an empty command line (so running it bare is harmless)."""
    return any(action.required and not action.option_strings for action in parser._actions)


def _run_in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_cli_walk_finds_every_command() -> None:
    found = {" ".join(path) for path, _ in PARSERS}
    assert {"network up", "audit history", "chaincode serve", "bench registry"} <= found


@pytest.mark.parametrize(
    "path", [p for p, _ in PARSERS], ids=lambda p: "cbp " + " ".join(p) if p else "cbp"
)
def test_cli_help_of_every_command(path: tuple[str, ...]) -> None:
    code, out, err = _run_in_process(*path, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: cbp {' '.join(path)}".rstrip()), out
    assert not ISSUE_NUMBER.search(out), ISSUE_NUMBER.search(out)
    parser = dict(PARSERS)[path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"cbp {' '.join(path)} {choice.dest} has no help"


@pytest.mark.parametrize(
    "path",
    [p for p, parser in PARSERS if _required(parser)],
    ids=lambda p: "cbp " + " ".join(p) if p else "cbp",
)
def test_cli_every_command_missing_its_arguments_says_so_in_one_line(
    path: tuple[str, ...],
) -> None:
    code, out, err = _run_in_process(*path)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert f"see `{' '.join(('cbp', *path))} --help`" in err, err


def test_cli_chaincode_serve_serves_until_stopped(fresh: Place) -> None:
    """`cbp chaincode serve` runs the contract's server, listens, and stops cleanly on SIGTERM."""
    import signal
    import socket
    import time

    port = 9990 + fresh.offset  # below the topology's chaincode ports; nothing else runs here
    server = subprocess.Popen(
        [sys.executable, "-m", "cbp", "chaincode", "serve", "chaincode.smoke:SmokeContract"]
        + ["--address", f"127.0.0.1:{port}", "--chaincode-id", "smoke:1"],
        cwd=REPO,
        env=fresh.environ(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server never listened"
            time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = server.stderr.read() if server.stderr else ""
    assert "Traceback" not in log
    assert "stopping on signal" in log
