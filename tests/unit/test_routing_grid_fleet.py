"""The pandapower grid, the datafev fleet and the day's comparison (a power flow per slot)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from simulations.routing.fleet import generate_fleet
from simulations.routing.grid import RomeGrid, spread_clusters
from simulations.routing.model import ROME, Horizon

DAY = date(2025, 3, 12)


def test_grid_forecast_comes_from_a_power_flow_and_ev_load_raises_loading() -> None:
    grid = RomeGrid()
    horizon = Horizon(datetime(2025, 3, 12, 20, 0, tzinfo=ROME), 6)
    model = grid.model(horizon)
    assert {e.kind for e in model.elements.values()} == {"transformer", "line"}
    homes = 2 * 6 * 18 * 1.2  # SS1: two feeders of six buses of 18 homes, at the peak share
    ss1 = model.elements["SS1"].forecast_kw
    assert homes * 0.9 < ss1.max() < homes * 1.05  # share 0.93-0.98 at 20:00, plus losses
    base = grid.run(horizon, {})
    with_evs = grid.run(horizon, {"C1": np.full(6, 44.0)})
    # C1 sits on SS1's first feeder: both the transformer and that feeder carry more
    assert np.all(with_evs.trafo_loading_pct[0] > base.trafo_loading_pct[0] + 5)
    assert np.all(with_evs.element_kw["SS1-F1"] > base.element_kw["SS1-F1"] + 40)
    assert np.allclose(with_evs.trafo_loading_pct[2], base.trafo_loading_pct[2], atol=0.2)


def test_spread_clusters_fit_the_buses_and_refuse_more() -> None:
    assert len(spread_clusters(20)) == 20
    with pytest.raises(ValueError, match="at most 40 clusters"):
        spread_clusters(41)


def test_fleet_is_reproducible_and_within_its_distributions() -> None:
    buildings = RomeGrid().household_positions()
    a = generate_fleet(40, DAY, 3, buildings)
    assert a == generate_fleet(40, DAY, 3, buildings)
    assert a != generate_fleet(40, DAY, 4, buildings)
    assert [t.arrival for t in a] == sorted(t.arrival for t in a)
    for t in a:
        assert t.arrival.date() == DAY and 7 <= t.arrival.hour < 23
        assert t.departure - t.arrival > timedelta(minutes=60)
        assert t.departure <= datetime(2025, 3, 13, 9, 30, tzinfo=ROME)
        assert 10 <= t.soc_percent <= t.target_soc_percent <= 100
        assert 0.8 <= t.radius_km <= 1.5
        assert t.v2g_energy_kwh == 0 or (t.v2g and 5 <= t.v2g_energy_kwh <= 15)


def test_default_day_routing_lowers_the_peak_and_writes_the_figures(tmp_path: Path) -> None:
    from simulations.routing.simulate import run_comparison, write_outputs

    cmp = run_comparison()
    s = cmp.summary()
    nearest, routing = s["nearest"], s["cheapest"]
    assert (
        routing["grid"]["peak_transformer_loading_pct"]
        < nearest["grid"]["peak_transformer_loading_pct"]
    )
    assert routing["grid"]["peak_line_loading_pct"] < nearest["grid"]["peak_line_loading_pct"]
    # the same fleet is served: the comparison is like for like
    assert routing["drivers"]["served"] == nearest["drivers"]["served"]
    assert routing["drivers"]["cost_eur_per_net_kwh"] < nearest["drivers"]["cost_eur_per_net_kwh"]
    paths = write_outputs(cmp, tmp_path)
    assert {p.name for p in paths} == {
        "summary.json",
        "headline.png",
        "transformer_loading.png",
        "lines_and_ev_power.png",
    }
    assert all(p.stat().st_size > 1000 for p in paths)
