"""One computation per key for the peers of a channel that ask for the same result at once.

The peers of a channel live in this process and commit each block on threads of their own, at
about the same moment. Work whose result is the same for all of them (a block's parse and
signature checks; its whole validation when their ledgers agree) is done by the first to ask;
the others wait for it and share the result, which none of them may change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    taken: int = 0


class SingleFlight(Generic[T]):
    """`run(key, compute)`: the first caller per key computes, concurrent and later callers get
    its result; the last `keep` keys are remembered, and a key is forgotten as soon as the
    `takers` the caller expects have had its result (a block's validation is large: the
    peers that share it take it, and it goes)."""

    def __init__(self, keep: int = 16, wait_seconds: float = 60.0) -> None:
        self._keep = keep
        self._wait = wait_seconds
        self._flights: OrderedDict[Hashable, _Flight[T]] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, key: Hashable, compute: Callable[[], T], takers: int = 0) -> T:
        with self._lock:
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                while len(self._flights) > self._keep:
                    self._flights.popitem(last=False)
        if owner:
            try:
                flight.result = compute()
            finally:
                flight.done.set()
            assert flight.result is not None
            self._took(key, flight, takers)
            return flight.result
        if flight.done.wait(timeout=self._wait) and flight.result is not None:
            self._took(key, flight, takers)
            return flight.result
        return compute()  # the owner failed or is stuck: do the work here

    def _took(self, key: Hashable, flight: _Flight[T], takers: int) -> None:
        with self._lock:
            flight.taken += 1
            if takers and flight.taken >= takers and self._flights.get(key) is flight:
                del self._flights[key]


__all__ = ["SingleFlight"]
