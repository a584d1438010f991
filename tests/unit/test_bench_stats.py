"""Figures of a measured window: percentiles, per-transaction costs, ratios, level summaries."""

from __future__ import annotations

import pytest

from cbp.bench.settings import BenchSettings, parse_levels
from cbp.bench.stats import MIB, LevelResult, merge, per_tx, percentile, ratio


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [0.4, 0.1, 0.3, 0.2]  # unsorted on purpose
    assert percentile(values, 0) == 0.1
    assert percentile(values, 100) == 0.4
    assert percentile(values, 50) == pytest.approx(0.25)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_of_nothing_is_none_and_q_is_checked() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_per_tx_and_ratio_refuse_to_divide_by_nothing() -> None:
    assert per_tx(2.0, 400) == pytest.approx(0.005)
    assert per_tx(2.0, 0) is None
    assert per_tx(None, 10) is None
    assert ratio(3.0, 2.0) == pytest.approx(1.5)
    assert ratio(3.0, 0.0) is None
    assert ratio(None, 2.0) is None


def test_level_result_throughput_latency_cpu_and_memory() -> None:
    r = LevelResult(
        subject="embedded",
        concurrency=10,
        window_seconds=10.0,
        committed=2000,
        failed=3,
        latencies=[0.3] * 98 + [0.9, 1.2],
        cpu_seconds={"engine": 9.6, "chaincode": 2.0},
        hwm_bytes={"engine": 120 * MIB},
    )
    assert r.tps == pytest.approx(200.0)
    assert r.p50 == pytest.approx(0.3)
    assert r.p99 is not None and 0.9 <= r.p99 <= 1.2
    assert r.cpu_per_tx("engine") == pytest.approx(0.0048)
    assert r.cpu_per_tx("client") is None
    assert r.hwm_mib("engine") == pytest.approx(120.0)
    s = r.summary()
    assert "latencies" not in s
    assert s["tps"] == 200.0
    assert s["cpu_ms_per_tx"] == {"engine": 4.8, "chaincode": 1.0}
    assert s["peak_rss_mib"] == {"engine": 120.0}
    assert s["failed"] == 3


def test_level_result_with_nothing_committed_has_no_rates() -> None:
    r = LevelResult("x", 1, 0.0, 0, 5, cpu_seconds={"engine": 1.0})
    assert r.tps == 0.0
    assert r.p50 is None
    assert r.cpu_per_tx("engine") is None


def test_parse_levels_reads_a_comma_list_and_names_bad_input() -> None:
    assert parse_levels("1, 10,50,100") == [1, 10, 50, 100]
    with pytest.raises(ValueError, match="'ten' is not a whole number"):
        parse_levels("1,ten")
    with pytest.raises(ValueError, match="between 1 and 1000"):
        parse_levels("0")
    with pytest.raises(ValueError, match="at least one level"):
        parse_levels(" , ")


def test_bench_settings_refuse_empty_windows() -> None:
    with pytest.raises(ValueError, match="--duration"):
        BenchSettings(levels=[1], duration=0, warmup=1, port_offset=0)
    with pytest.raises(ValueError, match="--warmup"):
        BenchSettings(levels=[1], duration=1, warmup=-1, port_offset=0)
    assert BenchSettings(levels=[1], duration=1, warmup=0, port_offset=0, home="/x").attached


def test_merge_pools_rounds_of_one_subject_and_level() -> None:
    a = LevelResult("py", 50, 10.0, 1000, 1, latencies=[0.2], cpu_seconds={"engine": 5.0},
                    hwm_bytes={"engine": 90}, errors={"E: x": 1})  # fmt: skip
    b = LevelResult("py", 50, 10.0, 600, 0, latencies=[0.4], cpu_seconds={"engine": 3.0},
                    hwm_bytes={"engine": 80})  # fmt: skip
    m = merge([a, b])
    assert m.tps == pytest.approx(80.0)
    assert m.committed == 1600 and m.failed == 1
    assert m.cpu_per_tx("engine") == pytest.approx(0.005)
    assert sorted(m.latencies) == [0.2, 0.4]
    assert m.hwm_bytes == {"engine": 90}
    assert m.errors == {"E: x": 1}
    assert a.committed == 1000  # the rounds themselves are left as they were


def test_merge_refuses_mixed_subjects_or_nothing() -> None:
    with pytest.raises(ValueError, match="rounds must be of one subject"):
        merge([LevelResult("py", 10, 1, 1, 0), LevelResult("node", 10, 1, 1, 0)])
    with pytest.raises(ValueError, match="at least one"):
        merge([])


def test_parse_engines_accepts_only_known_engines() -> None:
    from cbp.bench_cli import parse_engines

    assert parse_engines("embedded, fabric") == ["embedded", "fabric"]
    with pytest.raises(ValueError, match="engines are embedded, fabric \\(got docker\\)"):
        parse_engines("embedded,docker")
