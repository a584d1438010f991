"""The household load profile behind the DSO's forecast.

A stylised weekday curve of Italian residential customers, normalised to its evening peak: low at
night, a morning and a lunchtime rise, the peak from 20:00 to 22:00. It is written down here, not
measured: the shape follows published residential load curves, and each household's peak share
after diversity (`HOUSEHOLD_PEAK_KW`) is a planning figure for 3 kW contracts.
"""

from __future__ import annotations

import numpy as np

from simulations.routing.model import ROME, FloatArray, Horizon

# value at each hour's middle, 00:30 ... 23:30, share of the evening peak
HOURLY_SHARE: tuple[float, ...] = (
    0.42, 0.36, 0.33, 0.31, 0.31, 0.33, 0.42, 0.58, 0.60, 0.55, 0.52, 0.54,
    0.62, 0.66, 0.58, 0.52, 0.52, 0.60, 0.74, 0.88, 0.98, 1.00, 0.86, 0.64,
)  # fmt: skip
HOUSEHOLD_PEAK_KW = 1.2
HOUSEHOLD_POWER_FACTOR = 0.95


def household_share(horizon: Horizon) -> FloatArray:
    """Each slot's share of the evening peak (interpolated between hour middles, wrapping at midnight)."""
    xp = np.arange(-0.5, 25.0, 1.0)  # hour middles, with a copy on each side for the wrap
    fp = np.array((HOURLY_SHARE[-1], *HOURLY_SHARE, HOURLY_SHARE[0]))
    out = np.empty(horizon.steps)
    for step in range(horizon.steps):
        t = horizon.slot_start(step).astimezone(ROME)
        hour = t.hour + t.minute / 60.0 + 2.5 / 60.0  # the slot's middle
        out[step] = np.interp(hour, xp, fp)
    return out
