import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from simulations.routing.model import STEP_HOURS
from simulations.routing.optimizer import Candidate, Problem, solve

H = STEP_HOURS  # 1/12 h: 12 kW for one slot is 1 kWh


def _cand(
    key: str, prices: list[float], p: float, e0: float, d: float = 0.0, floor: float = 0.0
) -> Candidate:
    return Candidate(key, np.array(prices), p, d, e0, floor)


def test_mip_picks_the_cluster_and_slots_of_the_hand_computed_optimum() -> None:
    # need 1 kWh. A (12 kW): cheapest slot 0.20 -> 0.20 EUR. B (6 kW): 0.25 per kWh -> 0.25 EUR
    a = _cand("A", [0.30, 0.50, 0.20], 12.0, 10.0)
    b = _cand("B", [0.25, 0.25, 0.25], 6.0, 10.0)
    plan = solve(Problem([a, b], 3, 50.0, 11.0, 0.0, 0.9))
    assert plan is not None
    assert plan.index == 0
    assert plan.cost_eur == pytest.approx(0.20)
    assert plan.charge_kw == pytest.approx([0.0, 0.0, 12.0])
    assert plan.energy_kwh[-1] == pytest.approx(11.0)


def test_mip_counts_the_energy_left_on_arrival() -> None:
    # B is closer: it arrives with 10.5 kWh and needs 0.5 kWh at 0.25 -> 0.125 EUR < 0.20
    a = _cand("A", [0.30, 0.50, 0.20], 12.0, 10.0)
    b = _cand("B", [0.25, 0.25, 0.25], 6.0, 10.5)
    plan = solve(Problem([a, b], 3, 50.0, 11.0, 0.0, 0.9))
    assert plan is not None and plan.index == 1
    assert plan.cost_eur == pytest.approx(0.125)


def test_mip_needs_two_cheap_slots_when_one_is_not_enough() -> None:
    # 2 kWh at 12 kW: 1 kWh at 0.20 and 1 kWh at 0.30 -> 0.50 EUR; B can give 1.5 kWh at most
    a = _cand("A", [0.30, 0.50, 0.20], 12.0, 10.0)
    b = _cand("B", [0.10, 0.10, 0.10], 6.0, 10.0)
    plan = solve(Problem([a, b], 3, 50.0, 12.0, 0.0, 0.9))
    assert plan is not None and plan.index == 0
    assert plan.cost_eur == pytest.approx(0.50)


def test_mip_gives_back_within_the_v2g_allowance_when_it_pays() -> None:
    # charge 1 kWh at 0.20, give 1 kWh back at 0.9 * 0.50 = 0.45: -0.25 EUR, back at 20 kWh
    a = _cand("A", [0.20, 0.50], 12.0, 20.0, d=12.0, floor=10.0)
    plan = solve(Problem([a], 2, 50.0, 20.0, 1.0, 0.9))
    assert plan is not None
    assert plan.cost_eur == pytest.approx(-0.25)
    assert plan.charge_kw == pytest.approx([12.0, 0.0])
    assert plan.discharge_kw == pytest.approx([0.0, 12.0])


def test_mip_without_a_reachable_target_is_none() -> None:
    a = _cand("A", [0.2, 0.2], 12.0, 10.0)  # 2 kWh at most
    assert solve(Problem([a], 2, 50.0, 13.0, 0.0, 0.9)) is None


def _reference_cost(problem: Problem) -> float | None:
    """Per candidate, the same program as an LP over single slots (no blocks), and the best."""
    best: float | None = None
    t_n = problem.steps
    for c in problem.candidates:
        d_max = c.discharge_kw if problem.v2g_kwh > 0 else 0.0
        # variables: pc[0..T), pd[0..T); energy e[t] = e0 + H * cumsum(pc - pd)
        cost = np.concatenate((H * c.price, -H * problem.v2g_share * c.price))
        low = np.tril(np.ones((t_n, t_n)))
        a_ub = np.vstack(
            (
                np.hstack((H * low, -H * low)),  # e[t+1] <= capacity
                np.hstack((-H * low, H * low)),  # e[t+1] >= floor
                np.concatenate((-H * np.ones(t_n), H * np.ones(t_n)))[None, :],  # e[T] >= target
                np.concatenate((np.zeros(t_n), H * np.ones(t_n)))[None, :],  # V2G allowance
            )
        )
        b_ub = np.concatenate(
            (
                np.full(t_n, problem.capacity_kwh - c.arrival_kwh),
                np.full(t_n, c.arrival_kwh - c.floor_kwh),
                [c.arrival_kwh - problem.target_kwh],
                [problem.v2g_kwh],
            )
        )
        bounds = [(0, c.charge_kw)] * t_n + [(0, d_max)] * t_n
        res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status == 0 and (best is None or res.fun < best):
            best = float(res.fun)
    return best


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    steps = draw(st.integers(1, 24))
    k = draw(st.integers(1, 4))
    cap = draw(st.floats(20.0, 80.0))
    levels = st.sampled_from([0.40, 0.48, 0.55, 0.62, 0.85])  # few levels: blocks form
    cands = []
    for i in range(k):
        e0 = draw(st.floats(0.0, cap))
        cands.append(
            Candidate(
                key=f"c{i}",
                price=np.array(draw(st.lists(levels, min_size=steps, max_size=steps))),
                charge_kw=draw(st.sampled_from([3.7, 7.4, 11.0, 22.0])),
                discharge_kw=draw(st.sampled_from([0.0, 6.6, 11.0])),
                arrival_kwh=e0,
                floor_kwh=min(e0, 0.2 * cap),
            )
        )
    target = draw(st.floats(0.0, cap))
    v2g = draw(st.sampled_from([0.0, 2.0, 10.0]))
    return Problem(cands, steps, cap, target, v2g, 0.9)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_schedule_never_breaks_a_power_soc_or_v2g_bound_and_is_optimal(problem: Problem) -> None:
    plan = solve(problem)
    reference = _reference_cost(problem)
    if plan is None:
        assert reference is None
        return
    tol = 1e-5
    c = problem.candidates[plan.index]
    d_max = c.discharge_kw if problem.v2g_kwh > 0 else 0.0
    assert np.all(plan.charge_kw >= 0) and np.all(plan.charge_kw <= c.charge_kw + tol)
    assert np.all(plan.discharge_kw >= 0) and np.all(plan.discharge_kw <= d_max + tol)
    assert not np.any((plan.charge_kw > 0) & (plan.discharge_kw > 0))
    assert plan.energy_kwh[0] == pytest.approx(c.arrival_kwh)
    assert np.all(plan.energy_kwh <= problem.capacity_kwh + tol)
    assert np.all(plan.energy_kwh >= c.floor_kwh - tol)
    assert plan.energy_kwh[-1] >= problem.target_kwh - tol
    assert H * plan.discharge_kw.sum() <= problem.v2g_kwh + tol
    recomputed = H * np.sum(c.price * (plan.charge_kw - 0.9 * plan.discharge_kw))
    assert plan.cost_eur == pytest.approx(recomputed, abs=1e-9)
    # the blocks lose nothing: the same optimum as the slot-by-slot program
    assert reference is not None
    assert plan.cost_eur == pytest.approx(reference, abs=1e-4)
