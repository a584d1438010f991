"""The choice of cluster and the charging schedule as one mixed-integer program, solved by HiGHS
(through `scipy.optimize.milp`).

For candidate clusters k = 1..K over the stay's T five-minute slots (h = 1/12 h each):

    minimise   sum_k sum_t h * price[k,t] * (pc[k,t] - share * pd[k,t])
    subject to sum_k y[k] = 1,                      y[k] binary: the EV goes to exactly one cluster
               0 <= pc[k,t] <= P[k] * y[k]          charging power, only at the chosen cluster
               0 <= pd[k,t] <= D[k] * y[k]          V2G power, likewise
               e[0] = sum_k E0[k] * y[k]            energy on arrival (driving there costs energy)
               e[t+1] = e[t] + h * sum_k (pc[k,t] - pd[k,t])
               sum_k F[k] * y[k] <= e[t] <= capacity   never below the floor, never above full
               e[T] >= target
               h * sum_k sum_t pd[k,t] <= V2G allowance

There is no binary per slot to keep charging and discharging apart: V2G is paid `share` (< 1) of
the same slot's charging price, so doing both at once always costs more and is never optimal;
the plan is netted per slot all the same (the bounds test checks that no schedule does both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from simulations.routing.model import STEP_HOURS, FloatArray


@dataclass(frozen=True)
class Candidate:
    """One reachable cluster as the program sees it: prices over the stay and the EV's limits there."""

    key: str
    price: FloatArray  # EUR/kWh for charging, one per slot of the stay
    charge_kw: float
    discharge_kw: float
    arrival_kwh: float
    floor_kwh: float


@dataclass(frozen=True)
class Problem:
    candidates: Sequence[Candidate]
    steps: int
    capacity_kwh: float
    target_kwh: float
    v2g_kwh: float
    v2g_share: float


@dataclass(frozen=True)
class Plan:
    index: int  # which candidate
    charge_kw: FloatArray  # per slot
    discharge_kw: FloatArray  # per slot
    energy_kwh: FloatArray  # battery energy at each slot boundary (steps + 1 values)
    cost_eur: float


class SolverError(RuntimeError):
    """HiGHS stopped without an optimum for a program that has a feasible point."""


def price_blocks(price: FloatArray) -> FloatArray:
    """Start index of each run of slots in which every candidate's price stays the same."""
    change = np.any(price[:, 1:] != price[:, :-1], axis=0)
    return np.concatenate(([0], np.flatnonzero(change) + 1)).astype(np.int64)


def solve(problem: Problem, time_limit_s: float = 5.0) -> Plan | None:
    """The cheapest plan, or None when no candidate can reach the target within the bounds.

    Slots are taken in blocks of consecutive slots where no candidate's price changes. This is
    exact: inside such a block an optimal plan only charges or only discharges, so the battery
    moves one way and its bounds hold inside the block when they hold at its ends; the block's
    energy is then spread evenly over its slots (as cheap as any other split, and the gentlest
    on the grid).
    """
    k_n, t_n = len(problem.candidates), problem.steps
    if k_n == 0 or t_n <= 0:
        return None
    price = np.stack([np.asarray(c.price, dtype=np.float64) for c in problem.candidates])
    if price.shape != (k_n, t_n):
        raise ValueError(f"each candidate needs {t_n} prices, got shape {price.shape}")
    starts = price_blocks(price)
    lengths = np.diff(np.concatenate((starts, [t_n])))
    b_n = len(starts)
    hours = STEP_HOURS * lengths  # duration of each block
    block_price = price[:, starts]  # (K, B)

    n_q = k_n * b_n
    y0, qc0, qd0, e0 = 0, k_n, k_n + n_q, k_n + 2 * n_q
    n_var = e0 + b_n + 1

    p_max = np.array([c.charge_kw for c in problem.candidates])
    d_max = np.array([c.discharge_kw if problem.v2g_kwh > 0 else 0.0 for c in problem.candidates])
    arrival = np.array([c.arrival_kwh for c in problem.candidates])
    floor = np.array([c.floor_kwh for c in problem.candidates])
    qc_max = (p_max[:, None] * hours[None, :]).ravel()  # energy per (k, b)
    qd_max = (d_max[:, None] * hours[None, :]).ravel()

    cost = np.zeros(n_var)
    cost[qc0 : qc0 + n_q] = block_price.ravel()
    cost[qd0 : qd0 + n_q] = -problem.v2g_share * block_price.ravel()

    lb = np.zeros(n_var)
    ub = np.empty(n_var)
    ub[y0:k_n] = 1.0
    ub[qc0 : qc0 + n_q] = qc_max
    ub[qd0 : qd0 + n_q] = qd_max
    ub[e0:] = problem.capacity_kwh
    lb[e0 + b_n] = problem.target_kwh
    integrality = np.zeros(n_var)
    integrality[y0:k_n] = 1

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    row_lb: list[np.ndarray] = []
    row_ub: list[np.ndarray] = []
    r = 0

    def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray) -> None:
        rows.append(rr)
        cols.append(cc)
        vals.append(vv)

    # sum_k y[k] = 1: one cluster
    add(np.zeros(k_n, dtype=np.int64), np.arange(k_n), np.ones(k_n))
    row_lb.append(np.array([1.0]))
    row_ub.append(np.array([1.0]))
    r += 1
    # qc[k,b] <= P[k] h[b] y[k] and qd[k,b] <= D[k] h[b] y[k]: only at the chosen cluster
    ks = np.repeat(np.arange(k_n), b_n)
    idx = np.arange(n_q)
    for start, q_max in ((qc0, qc_max), (qd0, qd_max)):
        add(r + idx, start + idx, np.ones(n_q))
        add(r + idx, ks, -q_max)
        row_lb.append(np.full(n_q, -np.inf))
        row_ub.append(np.zeros(n_q))
        r += n_q
    # e[0] = sum_k E0[k] y[k]
    add(
        np.full(k_n + 1, r),
        np.concatenate(([e0], np.arange(k_n))),
        np.concatenate(([1.0], -arrival)),
    )
    row_lb.append(np.array([0.0]))
    row_ub.append(np.array([0.0]))
    r += 1
    # e[b+1] = e[b] + sum_k (qc[k,b] - qd[k,b])
    bs = np.arange(b_n)
    add(r + bs, e0 + bs + 1, np.ones(b_n))
    add(r + bs, e0 + bs, -np.ones(b_n))
    bb = np.tile(bs, k_n)
    add(r + bb, qc0 + idx, -np.ones(n_q))
    add(r + bb, qd0 + idx, np.ones(n_q))
    row_lb.append(np.zeros(b_n))
    row_ub.append(np.zeros(b_n))
    r += b_n
    # e[b] >= sum_k F[k] y[k]: the floor of the chosen cluster's arrival
    be = np.arange(b_n + 1)
    add(r + be, e0 + be, np.ones(b_n + 1))
    add(np.repeat(r + be, k_n), np.tile(np.arange(k_n), b_n + 1), np.tile(-floor, b_n + 1))
    row_lb.append(np.zeros(b_n + 1))
    row_ub.append(np.full(b_n + 1, np.inf))
    r += b_n + 1
    # sum qd <= V2G allowance
    add(np.full(n_q, r), qd0 + idx, np.ones(n_q))
    row_lb.append(np.array([-np.inf]))
    row_ub.append(np.array([problem.v2g_kwh]))
    r += 1

    a = coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_var)
    ).tocsr()
    res = milp(
        cost,
        integrality=integrality,
        bounds=Bounds(lb, ub),
        constraints=LinearConstraint(a, np.concatenate(row_lb), np.concatenate(row_ub)),
        # presolve costs more than it saves on programs this small (measured: 2-3x slower)
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-7, "presolve": False},
    )
    if res.status == 2:  # infeasible
        return None
    if res.x is None:
        raise SolverError(f"HiGHS stopped without a schedule: {res.message}")
    x = res.x
    k = int(np.argmax(x[y0:k_n]))
    qc = np.clip(x[qc0 : qc0 + n_q].reshape(k_n, b_n)[k], 0.0, None)
    qd = np.clip(x[qd0 : qd0 + n_q].reshape(k_n, b_n)[k], 0.0, None)
    # net within a block: charging and giving back at once never pays (see the module's note)
    net = qc - qd
    per_slot = np.repeat(net / hours, lengths)
    pc = np.clip(per_slot, 0.0, p_max[k])
    pd = np.clip(-per_slot, 0.0, d_max[k])
    # residues of the solver's tolerances are not power
    pc[pc < 1e-7] = 0.0
    pd[pd < 1e-7] = 0.0
    h = STEP_HOURS
    energy = arrival[k] + np.concatenate(([0.0], np.cumsum(h * (pc - pd))))
    cost_eur = float(h * np.sum(price[k] * (pc - problem.v2g_share * pd)))
    return Plan(k, pc, pd, energy, cost_eur)
