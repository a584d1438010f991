"""The process logs of the engine, the watchdog and the chaincode servers: one line per event,
safe to read, bounded.

- Each message has its control and direction characters escaped and is cut to
  ``MESSAGE_LIMIT`` characters: an id holding a line feed cannot forge a second log line, and
  a 5 MB request cannot become a 5 MB line.
- ``report_unexpected`` logs a traceback only the first time an exception type is raised at a
  given place; afterwards one line. A client sending the same bad input a thousand times
  writes one traceback, not a thousand.
- When the process's stderr is a ``*.log`` file (the sandbox starts every process so), the file
  is rotated by size: past ``CBP_LOG_MAX_BYTES`` (10 MiB) it becomes ``<name>.1`` (older ones
  ``.2`` .. ``.<CBP_LOG_BACKUPS>``, 3 by default) and a new file takes its place as stdout and
  stderr, so that whatever else writes there (gRPC's own messages) follows.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from pathlib import Path

__all__ = [
    "MESSAGE_LIMIT",
    "SafeFormatter",
    "configure",
    "escape",
    "report_unexpected",
    "safe_message",
]

MESSAGE_LIMIT = 2000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MAX_SITES = 256


# C0 and C1 controls, DEL, the bidirectional formatting characters, the line and paragraph
# separators, the zero-width space and the byte order mark
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def escape(text: str) -> str:
    """``text`` with every control and direction character written as an escape."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def safe_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = escape(text)
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text)} characters)"
    return text


class SafeFormatter(logging.Formatter):
    """A formatter whose message part is escaped and capped (tracebacks keep their lines)."""

    def __init__(self, fmt: str = FORMAT, limit: int = MESSAGE_LIMIT) -> None:
        super().__init__(fmt)
        self.limit = limit

    def format(self, record: logging.LogRecord) -> str:
        saved = record.msg, record.args
        try:
            record.msg, record.args = safe_message(record.getMessage(), self.limit), None
            return super().format(record)
        finally:
            record.msg, record.args = saved


class _RotatingStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to stderr; rotates the ``*.log`` file behind it by size."""

    def __init__(self, max_bytes: int, backups: int) -> None:
        super().__init__(sys.stderr)
        self.max_bytes = max_bytes
        self.backups = backups
        self.path = _log_file_of_stderr()

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if self.path is not None and self.max_bytes > 0:
            try:
                if os.fstat(2).st_size > self.max_bytes:
                    self._rotate(self.path)
            except OSError:  # a log that cannot rotate must not stop the server
                self.path = None

    def _rotate(self, path: Path) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        for n in range(self.backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if older.exists():
                older.replace(path.with_name(f"{path.name}.{n + 1}"))
        if self.backups > 0:
            path.replace(path.with_name(f"{path.name}.1"))
        else:
            path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


def _log_file_of_stderr() -> Path | None:
    try:
        target = Path(os.readlink("/proc/self/fd/2"))
    except OSError:
        return None
    return target if target.suffix == ".log" and target.is_file() else None


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def configure(level: str | int = "INFO") -> None:
    """Log to stderr through the safe formatter, rotating a ``*.log`` stderr by size."""
    handler = _RotatingStderr(
        _int_env("CBP_LOG_MAX_BYTES", DEFAULT_MAX_BYTES),
        _int_env("CBP_LOG_BACKUPS", DEFAULT_BACKUPS),
    )
    handler.setFormatter(SafeFormatter())
    root = logging.getLogger()
    # replace a plain stderr handler (basicConfig's), keep any other (a test's log capture)
    for old in list(root.handlers):
        if type(old) in (logging.StreamHandler, _RotatingStderr):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)


_sites: set[tuple[str, str, int]] = set()
_sites_lock = threading.Lock()


def report_unexpected(logger: logging.Logger, exc: BaseException, what: str) -> None:
    """Log an exception nobody expected: with its traceback the first time it is raised at
    its place, as one line after that."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    site = (type(exc).__name__, last.filename if last else "", last.lineno or 0 if last else 0)
    with _sites_lock:
        first = site not in _sites and len(_sites) < _MAX_SITES
        if first:
            _sites.add(site)
    summary = f"{what}: {type(exc).__name__}: {exc}"
    if first:
        logger.error("%s (traceback shown once for this place)", summary, exc_info=exc)
    else:
        where = f" at {Path(site[1]).name}:{site[2]}" if last else ""
        logger.error("%s%s", summary, where)
