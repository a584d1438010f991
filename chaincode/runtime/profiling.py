"""``CHAINCODE_PROFILE=<path>``: cProfile every thread of a chaincode server, for diagnosis.

cProfile only sees the thread that enables it, and transactions run on the worker pool, so
each thread gets its own profiler the first time it runs Python code; at exit their stats are
merged into one pstats file of thread CPU time, ``<path>.<chaincode label>.<pid>`` (a sandbox
starts several chaincode servers with the same environment). Off unless the variable is set;
``CHAINCODE_PROFILE_CLOCK=wall`` measures elapsed instead of CPU time. Read the workers' own
functions, not their idle ``SimpleQueue.get``, which cProfile mis-times across thread switches.
"""

from __future__ import annotations

import cProfile
import logging
import os
import pstats
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["CLOCK_ENV", "PROFILE_ENV", "profiled"]

logger = logging.getLogger(__name__)

PROFILE_ENV = "CHAINCODE_PROFILE"
# "wall" profiles elapsed time instead: where transactions wait for the peer
CLOCK_ENV = "CHAINCODE_PROFILE_CLOCK"


class _ThreadProfiles:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.profiles: list[cProfile.Profile] = []

    def start_here(self) -> None:
        # CPU time of this thread by default: wall time shows the workers waiting for the peer
        wall = os.environ.get(CLOCK_ENV, "") == "wall"
        profile = cProfile.Profile(time.perf_counter if wall else time.thread_time)
        with self._lock:
            self.profiles.append(profile)
        profile.enable()  # replaces this thread's bootstrap hook below

    def bootstrap(self, frame: FrameType, event: str, arg: Any) -> None:
        self.start_here()


@contextmanager
def profiled(label: str) -> Iterator[None]:
    """Profile the body and every thread started inside it when CHAINCODE_PROFILE is set."""
    base = os.environ.get(PROFILE_ENV, "")
    if not base:
        yield
        return
    profiles = _ThreadProfiles()
    threading.setprofile(profiles.bootstrap)
    profiles.start_here()
    try:
        yield
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
        sys.setprofile(None)
        stats: pstats.Stats | None = None
        for profile in profiles.profiles:
            profile.create_stats()
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        path = f"{base}.{label.replace(':', '_').replace('/', '_')}.{os.getpid()}"
        if stats is not None:
            stats.dump_stats(path)
            logger.info("profile of %d thread(s) written to %s", len(profiles.profiles), path)
