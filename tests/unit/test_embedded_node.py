"""The peer's plumbing between threads: height watchers and the serial commit workers."""

from __future__ import annotations

import asyncio
import threading
import time

from network.embedded.node import HeightWatcher, SerialWorker


def test_height_watcher_wakes_a_waiter_when_notified_from_another_thread() -> None:
    height = [1]
    watcher = HeightWatcher(lambda: height[0])

    def commit_later() -> None:
        time.sleep(0.05)
        height[0] = 2
        watcher.notify()

    async def wait() -> tuple[bool, float]:
        t0 = time.monotonic()
        threading.Thread(target=commit_later).start()
        ok = await watcher.wait_above(1, timeout=5)
        return ok, time.monotonic() - t0

    ok, took = asyncio.run(wait())
    assert ok and took < 2


def test_height_watcher_times_out_without_a_commit() -> None:
    watcher = HeightWatcher(lambda: 3)
    assert asyncio.run(watcher.wait_above(3, timeout=0.05)) is False
    assert asyncio.run(watcher.wait_above(2, timeout=0.05)) is True


def test_serial_worker_keeps_order_survives_failures_and_drains_on_stop() -> None:
    done: list[int] = []

    def work(n: int) -> None:
        if n == 3:
            raise RuntimeError("block 3 refused")
        time.sleep(0.001)
        done.append(n)

    worker: SerialWorker[int] = SerialWorker("test-worker", work)
    for n in range(10):
        worker.submit(n)
    worker.stop(timeout=5)
    assert done == [0, 1, 2, 4, 5, 6, 7, 8, 9]
