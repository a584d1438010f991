"""A small hand-made grid for the routing tests: no power flow, numbers one can check by hand."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from simulations.routing.model import ROME, Charger, Cluster, Element, GridModel, Horizon

START = datetime(2025, 3, 12, 6, 0, tzinfo=ROME)  # a Wednesday: 06-07 F3, 07-08 F2, 08- F1
STEPS = 36  # 06:00 to 09:00
CENTRE = (41.8700, 12.4560)


def small_grid(forecast_kw: float = 45.0, limit_kw: float = 50.0) -> GridModel:
    horizon = Horizon(START, STEPS)
    elements = {
        "T1": Element("T1", "transformer", "T1", limit_kw, np.full(STEPS, forecast_kw)),
        "T2": Element("T2", "transformer", "T2", 400.0, np.full(STEPS, 100.0)),
    }
    clusters = (
        # about 110 m north of the centre, behind the loaded transformer
        Cluster(
            "A", "site A", 41.8710, 12.4560, ("T1",), (Charger("A-1", 11.0), Charger("A-2", 22.0))
        ),
        # about 1.1 km east, behind a transformer with room
        Cluster("B", "site B", 41.8700, 12.4693, ("T2",), (Charger("B-1", 7.4),)),
    )
    return GridModel(horizon, elements, clusters)


def request(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "vehicle": {"model": "Volkswagen ID.3"},
        "position": {"lat": CENTRE[0], "lon": CENTRE[1]},
        "soc_percent": 50,
        "target_soc_percent": 60,
        "radius_km": 0.5,
        "arrival": "2025-03-12T06:00:00+01:00",
        "departure": "2025-03-12T09:00:00+01:00",
    }
    body.update(over)
    return body
