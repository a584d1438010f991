"""Two subjects measured against each other in one run, in an order that favours neither.

At each level the subjects run one after the other, `rounds` times, in ABBA order (A B, then
B A, ...), and the first subject alternates from level to level too, so a machine whose speed
drifts during the run (other jobs starting or ending) weighs on both alike. The rounds of a
subject at a level are pooled into one result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cbp.bench.stats import LevelResult, merge

# measure(subject, level, run) -> the results of one driver run at one level; `run` numbers
# the driver runs so each can be given its own key range
Measure = Callable[[str, int, int], list[LevelResult]]


def order(subjects: Sequence[str], level_index: int, round_index: int) -> list[str]:
    """Who runs when: A B for even (level + round), B A for odd."""
    s = list(subjects)
    return s if (level_index + round_index) % 2 == 0 else s[::-1]


def run_paired(
    subjects: Sequence[str], levels: Sequence[int], rounds: int, measure: Measure
) -> list[LevelResult]:
    """One pooled result per (level, subject), sorted by level then the given subject order."""
    if rounds < 1:
        raise ValueError(f"--rounds {rounds}: must be 1 or more")
    run = 0
    out: list[LevelResult] = []
    for i, level in enumerate(levels):
        got: dict[str, list[LevelResult]] = {s: [] for s in subjects}
        for r in range(rounds):
            for subject in order(subjects, i, r):
                got[subject] += measure(subject, level, run)
                run += 1
        out += [merge(got[s]) for s in subjects if got[s]]
    return out


__all__ = ["Measure", "order", "run_paired"]
