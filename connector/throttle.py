"""Log-in throttling: a user name that fails too often is refused for a while.

Five wrong passwords within five minutes lock the name for the rest of those five minutes
(429 with Retry-After); a right password clears the count. In memory: a connector is one
process, and a restart forgets the count (it cannot make guessing any faster than the window).
"""

from __future__ import annotations

import time
from collections import deque

FAILURES = 5
WINDOW = 300.0


class LogInThrottle:
    def __init__(self, failures: int = FAILURES, window: float = WINDOW) -> None:
        self._failures = failures
        self._window = window
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, username: str, now: float) -> deque[float]:
        times = self._seen.setdefault(username, deque())
        while times and now - times[0] > self._window:
            times.popleft()
        return times

    def wait(self, username: str) -> float:
        """Seconds before this name may try again (0 if it may now)."""
        now = time.monotonic()
        times = self._recent(username, now)
        if len(times) < self._failures:
            return 0.0
        return max(0.0, self._window - (now - times[0]))

    def failed(self, username: str) -> None:
        now = time.monotonic()
        self._recent(username, now).append(now)
        if len(self._seen) > 10_000:  # names that are not users must not grow this forever
            oldest = min(self._seen, key=lambda k: self._seen[k][-1] if self._seen[k] else 0)
            self._seen.pop(oldest, None)

    def succeeded(self, username: str) -> None:
        self._seen.pop(username, None)
