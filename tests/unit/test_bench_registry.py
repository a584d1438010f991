"""`cbp bench registry` with the embedded engine and real Fabric in one run: which engines run,
the checks and the report assembled from measured levels (no network)."""

from __future__ import annotations

import argparse

import pytest

from cbp.bench import registry
from cbp.bench.report import BenchReport
from cbp.bench.settings import BenchSettings
from cbp.bench.stats import LevelResult


def _r(subject: str, c: int, tps: float, p50: float = 0.3, engine_ms: float = 10.0) -> LevelResult:
    n = int(tps * 10)
    return LevelResult(
        subject, c, 10.0, n, 0, latencies=[p50] * n,
        cpu_seconds={"engine": engine_ms / 1000 * n, "chaincode": 0.004 * n},
    )  # fmt: skip


def _checks(report: BenchReport) -> dict[str, bool | None]:
    return {c.label: c.met for c in report.checks}


def _settings(home: str | None = None) -> BenchSettings:
    return BenchSettings(levels=[1, 10], duration=3.0, warmup=1.0, port_offset=7300, home=home)


def test_both_engines_the_issue_targets_on_embedded_and_ratios_per_shared_level() -> None:
    report = BenchReport("registry", unit="reg")
    report.results = [
        _r("embedded", 1, 3.5, p50=0.28),
        _r("embedded", 10, 33.0, p50=0.30),
        _r("embedded", 50, 90.0, p50=0.55),
        _r("fabric", 1, 3.6, p50=0.275),
        _r("fabric", 10, 31.0, p50=0.325, engine_ms=11.7),
        # a level only Fabric ran: no ratio without an embedded figure beside it
        _r("fabric", 100, 117.0, p50=0.86, engine_ms=10.6),
    ]
    registry.add_checks(report)
    assert _checks(report) == {
        "registrations/s, best level (c=50)": False,
        "p50 s at c=50": False,
        "p99 s at c=50": True,
        "best registrations/s, embedded vs fabric (same run)": False,  # 90 vs 117
        "registrations/s at c=1, embedded vs fabric": False,
        "registrations/s at c=10, embedded vs fabric": True,
    }
    best = next(c for c in report.checks if c.label.startswith("best registrations/s"))
    assert best.ours == pytest.approx(90.0) and best.theirs == pytest.approx(117.0)
    assert best.target == ">= 1x"
    assert report.notes == [
        "real Fabric in the same run did NOT meet the >= 250 registrations/s target: best "
        "117.0 reg/s at c=100, p50 860 ms, peers+orderer CPU 10.60 ms/reg"
    ]


def test_fabric_meeting_the_rate_target_is_said_so() -> None:
    report = BenchReport("registry", unit="reg")
    report.results = [_r("embedded", 50, 260.0), _r("fabric", 50, 251.0)]
    registry.add_checks(report)
    assert report.notes[0].startswith(
        "real Fabric in the same run met the >= 250 registrations/s target: best 251.0 reg/s"
    )
    assert _checks(report)["registrations/s at c=50, embedded vs fabric"] is True


def test_embedded_alone_has_only_the_issue_targets() -> None:
    report = BenchReport("registry", unit="reg")
    report.results = [_r("embedded", 10, 30.0), _r("embedded", 50, 70.0)]
    registry.add_checks(report)
    assert list(_checks(report)) == [
        "registrations/s, best level (c=50)",
        "p50 s at c=50",
        "p99 s at c=50",
    ]
    assert report.notes == []


def test_a_running_fabric_sandbox_alone_gets_the_verdict_and_says_where_targets_apply() -> None:
    report = BenchReport("registry", unit="reg")
    report.results = [_r("fabric", 10, 31.0), _r("fabric", 50, 102.7, p50=0.495)]
    registry.add_checks(report)
    assert report.checks == []
    assert report.notes[0].startswith("the targets are held against the embedded engine")
    assert "did NOT meet" in report.notes[1] and "102.7 reg/s at c=50" in report.notes[1]


def test_report_text_shows_both_subjects_the_ratio_and_the_fabric_line() -> None:
    report = BenchReport("registry", unit="reg", cpu_groups=["engine", "chaincode"])
    report.results = [_r("embedded", 10, 33.0), _r("fabric", 10, 31.0)]
    registry.add_checks(report)
    text = report.to_text()
    rows = [ln.split()[:3] for ln in text.splitlines() if ln.startswith(("embedded ", "fabric "))]
    assert rows == [["embedded", "10", "33.0"], ["fabric", "10", "31.0"]]
    assert (
        "registrations/s at c=10, embedded vs fabric: 33 vs 31 = 1.06x (target >= 1x) MET" in text
    )
    assert "note: real Fabric in the same run did NOT meet" in text


def test_cli_passes_engines_and_keeps_the_issue_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    from cbp import bench_cli

    seen: dict[str, object] = {}

    def fake_run(settings: BenchSettings, engines: list[str] | None = None) -> str:
        seen.update(levels=settings.levels, engines=engines)
        return "report"

    monkeypatch.setattr(registry, "run_registry", fake_run)
    parser = argparse.ArgumentParser()
    bench_cli.add_bench_parser(parser.add_subparsers(dest="cmd"))

    args = parser.parse_args(["bench", "registry"])
    assert bench_cli._run("registry", bench_cli.settings_from(args), None) == "report"
    assert seen == {"levels": [1, 10, 50], "engines": None}

    args = parser.parse_args(
        ["bench", "registry", "--engines", "fabric", "--concurrency", "1,10,50,100"]
    )
    engines = bench_cli.parse_engines(args.engines)
    bench_cli._run("registry", bench_cli.settings_from(args), engines)
    assert seen == {"levels": [1, 10, 50, 100], "engines": ["fabric"]}
