"""Paired benches: ABBA order across rounds and levels, rounds pooled per subject."""

from __future__ import annotations

import pytest

from cbp.bench.paired import order, run_paired
from cbp.bench.stats import LevelResult


def test_order_alternates_by_round_and_by_level() -> None:
    assert order(["A", "B"], 0, 0) == ["A", "B"]
    assert order(["A", "B"], 0, 1) == ["B", "A"]
    assert order(["A", "B"], 1, 0) == ["B", "A"]
    assert order(["A", "B"], 1, 1) == ["A", "B"]


def test_run_paired_runs_abba_and_pools_each_subject() -> None:
    calls: list[tuple[str, int, int]] = []

    def measure(subject: str, level: int, run: int) -> list[LevelResult]:
        calls.append((subject, level, run))
        return [LevelResult(subject, level, 10.0, 100 if subject == "A" else 50, 0)]

    results = run_paired(["A", "B"], [1, 10], 2, measure)
    assert [(s, lv) for s, lv, _ in calls] == [
        ("A", 1), ("B", 1), ("B", 1), ("A", 1),
        ("B", 10), ("A", 10), ("A", 10), ("B", 10),
    ]  # fmt: skip
    assert [run for _, _, run in calls] == list(range(8))  # each driver run its own key range
    assert [(r.subject, r.concurrency) for r in results] == [
        ("A", 1), ("B", 1), ("A", 10), ("B", 10),
    ]  # fmt: skip
    assert results[0].window_seconds == 20.0 and results[0].tps == pytest.approx(10.0)
    assert results[1].tps == pytest.approx(5.0)


def test_run_paired_refuses_zero_rounds() -> None:
    with pytest.raises(ValueError, match="--rounds 0"):
        run_paired(["A", "B"], [1], 0, lambda s, lv, r: [])
