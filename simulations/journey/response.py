"""How the BSP's fleet answers set points, with the shortfalls real fleets show.

At each set point the BSP's dispatcher works out the baseline the TSO will use (its fleet's
mean power over the last full 15-minute step before the notice: the step has ended, so the BSP
knows it), and aims at that baseline minus the request: it looks at the cars charging when it
is notified that will still be there at the window's end, and stops the most powerful first
until the power stopped covers the gap from what the fleet draws now to that aim, plus a 5 %
margin. Then, as documented here and nowhere else:

* a selected car ignores the set point with probability 0.10 (its driver overrides it, or the
  charger's link drops);
* the first minute of the window brings half the reduction (the chargers' response lag);
* cars arriving between the notice and the window's end are held until the window ends (the
  dispatcher's rule for new sessions, so that arrivals do not eat the response), again unless
  they ignore it;
* a stopped or held car makes up its energy after the window while it stays (the rebound), so
  later baselines carry it;
* the fleet keeps moving: cars arriving or leaving during a window, or finishing early, change
  the aggregate whatever the dispatcher did.

The measured series of each charger is what it drew, minute by minute, under all of this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.journey.fleet import MINUTES, Session, Site, charge

IGNORED = 0.10
RAMP = 0.5
MARGIN = 1.05


@dataclass(frozen=True)
class SetPoint:
    """An upward activation: stop ``power_kw`` of charging over [start, end) minutes."""

    activation_id: str
    notified: int
    start: int
    end: int
    power_kw: float


@dataclass(frozen=True)
class Dispatch:
    """What the dispatcher did for one set point."""

    activation_id: str
    selected: int
    ignored: int
    stopped_kw: float


def respond(
    sites: list[Site], setpoints: list[SetPoint], seed: int
) -> tuple[dict[str, np.ndarray], list[Dispatch]]:
    """Each charger's measured power per minute, and the dispatches."""
    rng = np.random.default_rng(seed + 7919)
    sessions: list[tuple[str, Session]] = [
        (charger.id, session)
        for site in sites
        for charger in site.chargers
        for session in charger.sessions
    ]
    held = [np.ones(MINUTES) for _ in sessions]
    drawn = [charge(s) for _, s in sessions]
    dispatches = []
    for point in sorted(setpoints, key=lambda p: p.start):
        candidates = [
            i
            for i, (_, s) in enumerate(sessions)
            if drawn[i][point.notified] > 0 and s.departure >= point.end
        ]
        candidates.sort(key=lambda i: -drawn[i][point.notified])
        now = sum(float(d[point.notified]) for d in drawn)
        first = point.notified - point.notified % 15 - 15
        baseline = sum(float(d[first : first + 15].mean()) for d in drawn)
        needed = max(now - (baseline - point.power_kw), 0.0) * MARGIN
        stopped, selected, ignored = 0.0, 0, 0
        for i in candidates:
            if stopped >= needed:
                break
            stopped += drawn[i][point.notified]
            selected += 1
            if rng.random() < IGNORED:
                ignored += 1
                continue
            held[i][point.start : point.end] = 0.0
            held[i][point.start] = RAMP
            drawn[i] = charge(sessions[i][1], held[i])
        for i, (_, s) in enumerate(sessions):
            if point.notified < s.arrival < point.end and s.departure > point.start:
                if rng.random() < IGNORED:
                    ignored += 1
                    continue
                held[i][point.start : point.end] = 0.0
                drawn[i] = charge(s, held[i])
        dispatches.append(Dispatch(point.activation_id, selected, ignored, round(stopped, 1)))
    measured: dict[str, np.ndarray] = {}
    for (charger_id, _), profile in zip(sessions, drawn, strict=True):
        measured[charger_id] = measured.get(charger_id, np.zeros(MINUTES)) + profile
    for site in sites:
        for charger in site.chargers:
            measured.setdefault(charger.id, np.zeros(MINUTES))
    return measured, dispatches
