"""Matching buyers to sellers: an optimisation (HiGHS) and the greedy rule it is compared with.

A buyer i and a seller j can trade only while both are parked; what they can move is bounded
by the chargers' power over that overlap. The optimal matching is the transportation linear
programme

    maximise    sum_ij w_ij x_ij
    subject to  sum_j x_ij <= E_req_i     (eq. 2: no buyer gets more than it needs)
                sum_i x_ij <= E_av_j      (eq. 3: no seller sells more than it has)
                0 <= x_ij <= P_charger * overlap_ij

with w_ij = 1 (most energy traded) or w_ij = c_i - P (most saved by buyers, c_i the grid
tariff the buyer would pay without P2P: minimising the buyers' total cost; a buyer whose grid
energy is cheaper than P buys nothing). Its constraint matrix is totally unimodular and the
data whole watt-hours, so the simplex vertex HiGHS returns is whole watt-hours, and has at
most one trade per binding constraint: few, large trades.

The greedy rule is eq. 4 applied first come, first served: buyers in order of arrival each
take, from the parked sellers with the most energy left, min(what it needs, what the seller
has, what the overlap allows), until it has enough or no seller is left.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import highspy
import numpy as np

from .energy import Role, trade_wh
from .scenario import EV, CaseSettings, Objective, grid_tariff


@dataclass(frozen=True)
class Trade:
    """A matched trade: the buyer takes ``amount_wh`` from the seller."""

    trade_id: str
    buyer: str
    seller: str
    amount_wh: int


@dataclass(frozen=True)
class Matching:
    method: str
    trades: tuple[Trade, ...]
    seconds: float

    @property
    def energy_wh(self) -> int:
        return sum(t.amount_wh for t in self.trades)


@dataclass(frozen=True)
class Candidates:
    """Every (buyer, seller) pair whose stays overlap, with what the overlap allows."""

    buyers: tuple[EV, ...]
    sellers: tuple[EV, ...]
    buyer_index: np.ndarray  # per pair: index into buyers
    seller_index: np.ndarray  # per pair: index into sellers
    capacity_wh: np.ndarray  # per pair: charger energy over the overlap


TIE_BREAK = 1e-4


class MatchingError(RuntimeError):
    """The solver did not find an optimal matching (it names its status)."""


def _highs() -> highspy.Highs:
    """A silent solver. HiGHS prints its banner from the C++ constructor, to file descriptor 1,
    before any option can be set; the command's own output must not carry it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def candidates(fleet: Sequence[EV], settings: CaseSettings) -> Candidates:
    buyers = tuple(ev for ev in fleet if ev.role is Role.BUYER and ev.required_wh > 0)
    sellers = tuple(ev for ev in fleet if ev.role is Role.SELLER and ev.available_wh > 0)
    b_arr = np.array([b.arrival for b in buyers], dtype=np.int64)
    b_dep = np.array([b.departure for b in buyers], dtype=np.int64)
    s_arr = np.array([s.arrival for s in sellers], dtype=np.int64)
    s_dep = np.array([s.departure for s in sellers], dtype=np.int64)
    overlap = np.minimum(b_dep[:, None], s_dep[None, :]) - np.maximum(
        b_arr[:, None], s_arr[None, :]
    )
    bi, sj = np.nonzero(overlap > 0)
    return Candidates(
        buyers=buyers,
        sellers=sellers,
        buyer_index=bi,
        seller_index=sj,
        capacity_wh=overlap[bi, sj] * settings.slot_wh,
    )


def avoided_tariff(ev: EV, settings: CaseSettings) -> Decimal:
    """c_i: the mean grid price over the slots a buyer charges in without P2P (from arrival)."""
    slots = -(-ev.required_wh // settings.slot_wh)
    window = range(ev.arrival, min(ev.arrival + max(slots, 1), ev.departure))
    prices = [grid_tariff(s) for s in window] or [grid_tariff(ev.arrival)]
    return sum(prices, Decimal(0)) / len(prices)


def _trades(c: Candidates, amounts: np.ndarray) -> tuple[Trade, ...]:
    chosen = [
        (c.buyers[int(c.buyer_index[k])].ev_id, c.sellers[int(c.seller_index[k])].ev_id, int(a))
        for k, a in enumerate(amounts)
        if a > 0
    ]
    chosen.sort()
    return tuple(Trade(f"T{n + 1:05d}", b, s, a) for n, (b, s, a) in enumerate(chosen))


def optimal(fleet: Sequence[EV], settings: CaseSettings) -> Matching:
    """The transportation LP above, solved by HiGHS' dual simplex."""
    started = time.perf_counter()
    c = candidates(fleet, settings)
    n, nb, ns = len(c.capacity_wh), len(c.buyers), len(c.sellers)
    if n == 0:
        return Matching("optimal (HiGHS)", (), time.perf_counter() - started)
    if settings.objective is Objective.ENERGY:
        weights = np.ones(n)
    else:
        per_buyer = np.array(
            [float(avoided_tariff(b, settings) - settings.price_eur_per_kwh) for b in c.buyers]
        )
        weights = per_buyer[c.buyer_index]
    # Among equally good matchings, prefer pairs parked together longer: the chargers then
    # have time to deliver what was agreed. Small enough never to trade away the objective.
    weights = weights + TIE_BREAK * c.capacity_wh / max(int(c.capacity_wh.max()), 1)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = nb + ns
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = weights
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = c.capacity_wh.astype(float)
    lp.row_lower_ = np.zeros(nb + ns)
    lp.row_upper_ = np.array(
        [b.required_wh for b in c.buyers] + [s.available_wh for s in c.sellers], dtype=float
    )
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * n + 1, 2, dtype=np.int32)
    lp.a_matrix_.index_ = (
        np.column_stack([c.buyer_index, nb + c.seller_index]).ravel().astype(np.int32)
    )
    lp.a_matrix_.value_ = np.ones(2 * n)
    h = _highs()
    h.setOptionValue("solver", "simplex")  # a vertex: whole Wh, few trades
    h.setOptionValue("simplex_strategy", 4)  # primal: ~1 s at 1,000 EVs, dual ~15 s
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise MatchingError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
    x = np.asarray(h.getSolution().col_value)
    # Vertices are integral; rounding only removes the solver's 1e-9 noise. Flooring what is
    # above an integer by more than noise keeps every constraint satisfied regardless.
    amounts = np.where(np.abs(x - np.rint(x)) < 1e-6, np.rint(x), np.floor(x)).astype(np.int64)
    amounts = np.clip(amounts, 0, c.capacity_wh)
    return Matching("optimal (HiGHS)", _trades(c, amounts), time.perf_counter() - started)


def greedy(fleet: Sequence[EV], settings: CaseSettings) -> Matching:
    """Eq. 4 first come, first served (see the module docstring)."""
    started = time.perf_counter()
    c = candidates(fleet, settings)
    by_buyer: dict[int, list[tuple[int, int]]] = {}
    for k in range(len(c.capacity_wh)):
        by_buyer.setdefault(int(c.buyer_index[k]), []).append(
            (int(c.seller_index[k]), int(c.capacity_wh[k]))
        )
    left = [s.available_wh for s in c.sellers]
    amounts: dict[tuple[int, int], int] = {}
    order = sorted(range(len(c.buyers)), key=lambda i: (c.buyers[i].arrival, c.buyers[i].ev_id))
    for i in order:
        need = c.buyers[i].required_wh
        options = by_buyer.get(i, [])
        while need > 0:
            open_ = [(j, cap) for j, cap in options if left[j] > 0 and (i, j) not in amounts]
            if not open_:
                break
            j, cap = max(open_, key=lambda o: (left[o[0]], -o[0]))
            amount = min(trade_wh(need, left[j]), cap)
            amounts[(i, j)] = amount
            left[j] -= amount
            need -= amount
    chosen = sorted(
        (c.buyers[i].ev_id, c.sellers[j].ev_id, a) for (i, j), a in amounts.items() if a > 0
    )
    trades = tuple(Trade(f"T{n + 1:05d}", b, s, a) for n, (b, s, a) in enumerate(chosen))
    return Matching("greedy (first come, first served)", trades, time.perf_counter() - started)
