"""One computation per key for concurrent askers; a failed owner leaves the work to the others."""

from __future__ import annotations

import threading
import time

import pytest

from network.embedded.singleflight import SingleFlight


def test_concurrent_callers_share_one_computation() -> None:
    flights: SingleFlight[list[int]] = SingleFlight()
    calls = 0
    started = threading.Event()

    def compute() -> list[int]:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.05)  # the others arrive while the owner works
        return [1, 2, 3]

    results: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda: results.append(flights.run("block-7", compute)))
        for _ in range(3)
    ]
    threads[0].start()
    started.wait(1)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(2)
    assert calls == 1
    assert results == [[1, 2, 3]] * 3 and results[0] is results[1] is results[2]
    assert flights.run("block-8", lambda: [8]) == [8]  # another key computes anew


def test_a_failed_owner_leaves_the_work_to_each_waiter() -> None:
    flights: SingleFlight[str] = SingleFlight()
    entered = threading.Event()
    release = threading.Event()

    def failing() -> str:
        entered.set()
        release.wait(1)
        raise RuntimeError("owner failed")

    errors: list[Exception] = []

    def owner() -> None:
        try:
            flights.run("k", failing)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=owner)
    t.start()
    entered.wait(1)
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(flights.run("k", lambda: "own work")))
    waiter.start()
    release.set()
    t.join(2)
    waiter.join(2)
    assert [str(e) for e in errors] == ["owner failed"]
    assert got == ["own work"]


def test_only_the_last_keys_are_remembered() -> None:
    flights: SingleFlight[int] = SingleFlight(keep=2)
    for n in range(3):
        flights.run(n, lambda n=n: n)  # type: ignore[misc]
    assert flights.run(0, lambda: 99) == 99  # forgotten: computed again
    assert flights.run(2, lambda: 99) == 2


@pytest.mark.parametrize("keep", [1, 16])
def test_results_are_returned_to_the_owner(keep: int) -> None:
    assert SingleFlight[int](keep=keep).run("x", lambda: 5) == 5


def test_a_result_is_forgotten_once_its_takers_had_it() -> None:
    flights: SingleFlight[int] = SingleFlight(keep=16)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert flights.run("block 7", compute, takers=3) == 1
    assert flights.run("block 7", compute, takers=3) == 1
    assert flights.run("block 7", compute, takers=3) == 1  # the third taker: dropped now
    assert flights.run("block 7", compute, takers=3) == 2  # a fourth computes again
    assert flights.run("kept", compute) == 3
    assert flights.run("kept", compute) == 3  # without takers: kept among the last `keep`
