"""Writing to the terminal: progress lines that survive a reader who leaves.

`cbp network up | head -3` must still start the network: once the reader of stdout has gone,
progress is dropped, not raised as BrokenPipeError into the work it reports on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO


def quiet_stdout() -> None:
    """The reader of stdout went away: send what is still written to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def progress(prefix: str, stream: TextIO | None = None) -> Callable[[str], None]:
    """A `say` callback printing `[prefix] message` lines, flushed at once."""

    def say(msg: str) -> None:
        out = stream or sys.stdout
        try:
            print(f"[{prefix}] {msg}", file=out, flush=True)
        except BrokenPipeError:
            if out is sys.stdout:
                quiet_stdout()

    return say
