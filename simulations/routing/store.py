"""The service's reservations: which charger each EV holds, over which slots, and the schedule it
committed. Later requests see both: a held charger is not free, and every committed schedule adds
to the load expected through the elements its cluster sits behind.

In memory, for one service process; the service serialises writes (see `service.py`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from simulations.routing.model import FloatArray, GridModel


@dataclass(frozen=True)
class Reservation:
    id: str
    cluster_id: str
    charger_id: str
    first_step: int  # first slot held
    end_step: int  # first slot after the stay
    charge_kw: FloatArray  # one value per held slot
    discharge_kw: FloatArray
    cost_eur: float
    created: datetime

    @property
    def net_kw(self) -> FloatArray:
        return np.asarray(self.charge_kw - self.discharge_kw, dtype=np.float64)


class UnknownReservation(KeyError):
    pass


class ReservationStore:
    def __init__(self, grid: GridModel) -> None:
        self._grid = grid
        self._steps = grid.horizon.steps
        self._by_id: dict[str, Reservation] = {}
        self._by_charger: dict[str, list[Reservation]] = {}
        self._committed = {e: np.zeros(self._steps) for e in grid.elements}
        self._cluster_elements = {c.id: c.element_ids for c in grid.clusters}
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"R{next(self._ids):06d}"

    def add(self, res: Reservation) -> None:
        if res.id in self._by_id:
            raise ValueError(f"reservation {res.id} exists")
        if self.charger_busy(res.charger_id, res.first_step, res.end_step):
            raise ValueError(f"charger {res.charger_id} is held in part of that stay")
        self._by_id[res.id] = res
        self._by_charger.setdefault(res.charger_id, []).append(res)
        self._apply(res, +1.0)

    def cancel(self, reservation_id: str) -> Reservation:
        res = self._by_id.pop(reservation_id, None)
        if res is None:
            raise UnknownReservation(reservation_id)
        self._by_charger[res.charger_id].remove(res)
        self._apply(res, -1.0)
        return res

    def get(self, reservation_id: str) -> Reservation:
        try:
            return self._by_id[reservation_id]
        except KeyError:
            raise UnknownReservation(reservation_id) from None

    def all(self) -> list[Reservation]:
        return list(self._by_id.values())

    def charger_busy(self, charger_id: str, first_step: int, end_step: int) -> bool:
        return any(
            r.first_step < end_step and first_step < r.end_step
            for r in self._by_charger.get(charger_id, ())
        )

    def committed_kw(self, element_id: str) -> FloatArray:
        """Net kW committed through an element in each slot (a view: do not modify)."""
        return self._committed[element_id]

    def _apply(self, res: Reservation, sign: float) -> None:
        for e in self._cluster_elements[res.cluster_id]:
            self._committed[e][res.first_step : res.end_step] += sign * res.net_kw
