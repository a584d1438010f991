"""The P2P case study without a ledger: fleet, matchings, the day, outputs and the command."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbp.cli import main
from simulations.p2p.energy import Role
from simulations.p2p.matching import Matching, avoided_tariff, candidates, greedy, optimal
from simulations.p2p.results import run_case, trade_rows
from simulations.p2p.scenario import CAPACITIES_KWH, CaseSettings, Objective, make_fleet
from simulations.p2p.schedule import simulate_day


def test_fleet_is_reproducible_and_follows_the_case_study() -> None:
    s = CaseSettings(evs=300, seed=5)
    fleet = make_fleet(s)
    assert fleet == make_fleet(s)
    assert fleet != make_fleet(s.model_copy(update={"seed": 6}))
    assert {ev.capacity_kwh for ev in fleet} == set(CAPACITIES_KWH)
    for ev in fleet:
        assert 300 <= ev.soc_permille <= 950 and 0 <= ev.arrival < ev.departure <= 96
        if ev.soc_permille < 700:
            assert (
                ev.role is Role.BUYER
                and ev.required_wh == (700 - ev.soc_permille) * ev.capacity_kwh
            )
        elif ev.soc_permille > 750:
            assert (
                ev.role is Role.SELLER
                and ev.available_wh == (ev.soc_permille - 750) * ev.capacity_kwh
            )
        else:
            assert ev.role is Role.NEUTRAL and ev.required_wh == ev.available_wh == 0


def _check_feasible(m: Matching, s: CaseSettings) -> None:
    fleet = {ev.ev_id: ev for ev in make_fleet(s)}
    c = candidates(list(fleet.values()), s)
    cap = {
        (c.buyers[int(i)].ev_id, c.sellers[int(j)].ev_id): int(w)
        for i, j, w in zip(c.buyer_index, c.seller_index, c.capacity_wh, strict=True)
    }
    bought: dict[str, int] = defaultdict(int)
    sold: dict[str, int] = defaultdict(int)
    for t in m.trades:
        assert t.amount_wh > 0
        assert (t.buyer, t.seller) in cap, "a trade between EVs never parked together"
        assert t.amount_wh <= cap[(t.buyer, t.seller)]
        bought[t.buyer] += t.amount_wh
        sold[t.seller] += t.amount_wh
    assert all(fleet[b].role is Role.BUYER and w <= fleet[b].required_wh for b, w in bought.items())
    assert all(fleet[x].role is Role.SELLER and w <= fleet[x].available_wh for x, w in sold.items())
    assert len({t.trade_id for t in m.trades}) == len(m.trades)


@settings(max_examples=15, deadline=None)
@given(
    evs=st.integers(2, 120), seed=st.integers(0, 10_000), objective=st.sampled_from(list(Objective))
)
def test_matchings_never_sell_what_is_not_there(evs: int, seed: int, objective: Objective) -> None:
    s = CaseSettings(evs=evs, seed=seed, objective=objective)
    fleet = make_fleet(s)
    best, rule = optimal(fleet, s), greedy(fleet, s)
    _check_feasible(best, s)
    _check_feasible(rule, s)
    if objective is Objective.ENERGY:
        assert best.energy_wh >= rule.energy_wh
    else:
        gain = {
            b.ev_id: avoided_tariff(b, s) - s.price_eur_per_kwh
            for b in fleet
            if b.role is Role.BUYER
        }
        value = lambda m: sum(gain[t.buyer] * t.amount_wh for t in m.trades)  # noqa: E731
        assert value(best) >= value(rule) - Decimal("0.001") * sum(t.amount_wh for t in best.trades)


@settings(max_examples=10, deadline=None)
@given(evs=st.integers(2, 120), seed=st.integers(0, 10_000))
def test_the_day_conserves_energy(evs: int, seed: int) -> None:
    s = CaseSettings(evs=evs, seed=seed)
    fleet = make_fleet(s)
    m = optimal(fleet, s)
    day = simulate_day(fleet, m.trades, s)
    delivered = sum(d.delivered_wh for d in day.deliveries)
    assert all(0 <= d.delivered_wh <= d.trade.amount_wh for d in day.deliveries)
    assert np.isclose(day.p2p_kw.sum() / 4 * 1000, delivered)  # kW over 15 min -> Wh
    assert np.isclose(day.grid_only_kw.sum() / 4 * 1000, sum(b.grid_only_wh for b in day.buyers))
    assert np.isclose(day.with_p2p_kw.sum() / 4 * 1000, sum(b.grid_wh for b in day.buyers))
    for b in day.buyers:
        assert b.p2p_wh + b.grid_wh <= b.required_wh
        assert b.p2p_wh + b.grid_wh >= b.grid_only_wh  # never less charged than without P2P


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_p2p_lowers_the_peak_and_the_buyers_cost(seed: int) -> None:
    """What the seed's figures 2 and 5 show, on the default case and three other fleets."""
    h = run_case(CaseSettings(seed=seed)).headline()
    assert h["peakWithP2pKw"] < h["peakGridOnlyKw"]
    assert Decimal(h["buyersWithP2pEur"]) < Decimal(h["buyersGridOnlyEur"])
    assert h["deliveredKwh"] > 0.95 * h["availableKwh"]  # sellers' energy finds buyers


def test_trade_rows_carry_the_ledgers_fields() -> None:
    case = run_case(CaseSettings(evs=40))
    rows = trade_rows(case, "R1-")
    assert rows and all(
        r["tradeId"].startswith("R1-T") and r["buyerId"].startswith("R1-EV") for r in rows
    )
    for r in rows:
        assert Decimal(r["costEur"]) == (Decimal(r["deliveredKwh"]) * Decimal("0.15")).quantize(
            Decimal("0.01")
        )
        assert r["status"] == ("Confirmed" if Decimal(r["deliveredKwh"]) > 0 else "Rejected")


def test_simulate_p2p_command_writes_figures_csv_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "p2p", "--evs", "30", "--seed", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "peak grid load" in out and "greedy" in out and "buyers' cost" in out
    assert {p.name for p in tmp_path.iterdir()} == {
        "load_profile.png",
        "soc_capacity.png",
        "energy_per_ev.png",
        "cost_buyers.png",
        "trades.csv",
        "summary.json",
    }
    assert all(
        (tmp_path / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        for n in ("load_profile.png", "cost_buyers.png")
    )
    with (tmp_path / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["headline"]["trades"] == len(rows)
    assert [r["matching"] for r in summary["comparison"]] == [
        "optimal, cost",
        "greedy",
        "optimal, energy",
    ]


def test_simulate_p2p_sweep_prints_the_mean_of_each_matching(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "p2p", "--evs", "20", "--sweep", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "mean over 3 fleets" in out
    sweep = json.loads((tmp_path / "summary.json").read_text())["sweep"]
    assert [r["matching"] for r in sweep] == ["optimal, cost", "greedy", "optimal, energy"]
    assert all(0 < r["deliveredPct"] <= 100 and r["peakKw"] <= r["peakGridOnlyKw"] for r in sweep)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--evs", "1"], "--evs 1: input should be greater than or equal to 2"),
        (["--buy-threshold", "80"], "lower --buy-threshold or raise --sell-threshold"),
        (["--price", "-1"], "--price -1: input should be greater than 0"),
        (["--price", "cheap"], "'cheap' is not a price in EUR/kWh"),
        (["--batch-size", "501"], "--batch-size 501 must be between 1 and 500"),
        (["--objective", "fun"], "invalid choice: 'fun'"),
        (["--sweep", "101"], "--sweep 101 must be between 0 and 100"),
    ],
)
def test_simulate_p2p_bad_input_is_one_line_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        code = main(["simulate", "p2p", "--out", str(tmp_path), *args])
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_simulate_p2p_ledger_without_a_sandbox_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "connection-profile.json"
    code = main(
        [
            "simulate",
            "p2p",
            "--evs",
            "10",
            "--out",
            str(tmp_path),
            "--ledger",
            "--profile",
            str(missing),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "does not exist; start the sandbox" in err and "Traceback" not in err
