"""The printed and JSON report: table layout, reference rows, target verdicts."""

from __future__ import annotations

import json

import pytest

from cbp.bench.reference import FABRIC_LEDGER, SOURCE
from cbp.bench.report import (
    BenchReport,
    bound_check,
    dumps,
    format_check,
    format_table,
    ratio_check,
)
from cbp.bench.stats import MIB, LevelResult


def _result(subject: str, c: int, committed: int, cpu: float = 1.0) -> LevelResult:
    return LevelResult(
        subject=subject,
        concurrency=c,
        window_seconds=10.0,
        committed=committed,
        failed=0,
        latencies=[0.25, 0.3, 0.5],
        cpu_seconds={"engine": cpu},
        hwm_bytes={"engine": 100 * MIB},
    )


def test_ratio_check_verdicts() -> None:
    fast = ratio_check("tx/s", 300.0, 240.0, at_least=1.0)
    assert fast.met is True and fast.ratio == pytest.approx(1.25)
    assert fast.target == ">= 1x"
    heavy = ratio_check("RSS", 300.0, 430.0, at_most=0.5)
    assert heavy.met is False
    unknown = ratio_check("tx/s", None, 240.0, at_least=1.0)
    assert unknown.met is None and unknown.ratio is None
    with pytest.raises(ValueError, match="at_least or at_most"):
        ratio_check("x", 1.0, 1.0)


def test_bound_check_verdicts() -> None:
    assert bound_check("reg/s", 260.0, at_least=250).met is True
    assert bound_check("p50", 0.6, at_most=0.5).met is False
    assert bound_check("p99", None, at_most=2).met is None


def test_format_check_says_figures_ratio_and_verdict() -> None:
    text = format_check(ratio_check("best tx/s", 120.0, 240.0, at_least=1.0))
    assert text == "best tx/s: 120 vs 240 = 0.50x (target >= 1x) NOT MET"
    assert format_check(bound_check("p50 s", None, at_most=0.5)).endswith("not measured")


def test_format_table_aligns_columns_and_checks_row_width() -> None:
    text = format_table(["subject", "tx/s"], [["embedded", "12.5"], ["fabric", "240.0"]])
    lines = text.splitlines()
    assert lines[0] == "subject    tx/s"
    assert lines[1] == "--------  -----"
    assert lines[2] == "embedded   12.5"
    assert lines[3] == "fabric    240.0"
    with pytest.raises(ValueError, match="row has 1 cells"):
        format_table(["a", "b"], [["x"]])


def test_report_text_has_every_level_reference_and_targets() -> None:
    report = BenchReport("ledger", cpu_groups=["engine"], mem_groups=["engine"])
    report.results = [_result("embedded", 1, 40, cpu=0.4), _result("embedded", 50, 2600, cpu=13.0)]
    report.startup_seconds["embedded"] = 3.2
    report.reference_label = SOURCE
    report.reference = list(FABRIC_LEDGER)
    report.checks.append(ratio_check("best tx/s", 260.0, 240.0, at_least=1.0))
    report.notes.append("real Fabric column skipped: no binaries")
    text = report.to_text()
    assert "start to ready (embedded): 3.20 s" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("embedded") and " 50 " in ln)
    assert "260.0" in row and "5.00 ms" in row and "100 MiB" in row
    assert SOURCE in text
    assert "(target >= 1x) MET" in text
    assert "note: real Fabric column skipped: no binaries" in text


def test_report_best_and_at_pick_levels() -> None:
    report = BenchReport("ledger")
    report.results = [_result("embedded", 1, 40), _result("embedded", 50, 2600)]
    best = report.best("embedded")
    assert best is not None and best.concurrency == 50
    assert report.best("fabric") is None
    at1 = report.at("embedded", 1)
    assert at1 is not None and at1.committed == 40
    assert report.at("embedded", 10) is None


def test_report_json_is_machine_readable() -> None:
    report = BenchReport("registry", unit="reg", cpu_groups=["engine"])
    report.results = [_result("registry", 10, 2500)]
    report.checks.append(bound_check("reg/s", 250.0, at_least=250))
    data = json.loads(dumps(report))
    assert data["bench"] == "registry"
    assert data["results"][0]["tps"] == 250.0
    assert data["results"][0]["p50_s"] == pytest.approx(0.3)
    assert data["checks"][0]["met"] is True
    assert data["machine"]["cores"] >= 1
    assert data["date"].endswith("+00:00")


def test_failures_are_noted_per_level_most_frequent_first() -> None:
    report = BenchReport("registry")
    bad = _result("registry", 50, 100)
    bad.failed = 4
    bad.errors = {"EndorseError: AlreadyExists": 1, "CommitError: MVCC_READ_CONFLICT": 3}
    report.results = [_result("registry", 1, 30), bad]
    text = report.to_text()
    assert (
        "note: registry c=50: 4 failed: 3 x CommitError: MVCC_READ_CONFLICT; "
        "1 x EndorseError: AlreadyExists" in text
    )
    assert "registry c=1:" not in text


def test_report_names_the_commit_it_measured() -> None:
    report = BenchReport("ledger")
    report.revision = "0123456789+changes"
    assert "code: 0123456789+changes" in report.to_text()
    assert json.loads(dumps(report))["revision"] == "0123456789+changes"
