"""Which event loop the engine runs on: uvloop unless told otherwise.

The engine is one process whose event loop does every peer's gRPC work; with libuv's loop
(`uvloop`) the same load costs about a tenth less CPU per transaction than with asyncio's
own (see docs/benchmarks.md). `CBP_EVENT_LOOP=asyncio` selects asyncio's loop, for comparison
or where uvloop is not installed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOP_ENV = "CBP_EVENT_LOOP"


def loop_name() -> str:
    """The loop `run` will use: "uvloop" or "asyncio"."""
    wanted = os.environ.get(LOOP_ENV, "uvloop").strip().lower() or "uvloop"
    if wanted not in ("uvloop", "asyncio"):
        raise ValueError(f"{LOOP_ENV}={wanted!r}: expected uvloop or asyncio")
    if wanted == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "asyncio"
    return wanted


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on the chosen loop."""
    factory = None
    if loop_name() == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
