"""Process logs (hardening/logs.py, for the engine, the watchdog and the chaincode servers): one
line per event whatever the input, capped, rotated by size."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

import hardening.logs as process_logs

MODULES = [process_logs]


@pytest.mark.parametrize("logs", MODULES, ids=["hardening"])
def test_log_line_escapes_control_characters_and_caps_length(logs: object) -> None:
    formatter = logs.SafeFormatter("%(message)s", limit=50)  # type: ignore[attr-defined]
    forged = "IT002E00112233\n2026-12-07 10:00:00 INFO registry: POD approved\x00\u202e"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "read %s", (forged,), None)
    line = formatter.format(record)
    assert "\n" not in line and "\x00" not in line and "\u202e" not in line
    assert line.startswith("read IT002E00112233\\n2026-12-07")
    assert line.endswith("characters)") and len(line) < 90
    # the record is left as it was, for any other handler
    assert record.getMessage() == f"read {forged}"


@pytest.mark.parametrize("module", ["hardening.logs"])
def test_a_log_file_rotates_by_size_and_keeps_its_backups(tmp_path: Path, module: str) -> None:
    log = tmp_path / "proc.log"
    script = (
        f"import logging, {module} as logs\n"
        "logs.configure('INFO')\n"
        "for i in range(400):\n"
        "    logging.getLogger('t').info('line %04d %s', i, 'x' * 80)\n"
        "print('stdout after rotation', flush=True)\n"
    )
    with open(log, "ab") as out:
        subprocess.run(
            [sys.executable, "-c", script],
            stdout=out,
            stderr=out,
            check=True,
            env={"CBP_LOG_MAX_BYTES": "10000", "CBP_LOG_BACKUPS": "2", "PATH": "/usr/bin"},
            cwd=Path(__file__).resolve().parents[2],
        )
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["proc.log", "proc.log.1", "proc.log.2"]
    for f in tmp_path.iterdir():
        assert f.stat().st_size < 10000 + 400
    assert "line 0399" in log.read_text() and "stdout after rotation" in log.read_text()
    assert "line 0000" not in "".join(f.read_text() for f in tmp_path.iterdir())  # oldest dropped


def test_a_stderr_that_is_not_a_log_file_is_never_rotated(tmp_path: Path) -> None:
    out = tmp_path / "captured.txt"
    script = (
        "import logging, hardening.logs as logs\n"
        "logs.configure('INFO')\n"
        "for i in range(300):\n"
        "    logging.getLogger('t').info('x' * 100)\n"
    )
    with open(out, "ab") as f:
        subprocess.run(
            [sys.executable, "-c", script],
            stderr=f,
            check=True,
            env={"CBP_LOG_MAX_BYTES": "1000", "PATH": "/usr/bin"},
            cwd=Path(__file__).resolve().parents[2],
        )
    assert [p.name for p in tmp_path.iterdir()] == ["captured.txt"]
