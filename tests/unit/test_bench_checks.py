"""Each bench's targets, computed from measured levels (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbp.bench import chaincode, gateway, ledger, registry
from cbp.bench.reference import FABRIC_BEST_TPS, SOURCE
from cbp.bench.report import BenchReport
from cbp.bench.stats import MIB, LevelResult
from cbp.bench.target import Target
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology


def _r(subject: str, c: int, tps: float, cpu: dict[str, float], mib: float = 100.0,
       p50: float = 0.3) -> LevelResult:  # fmt: skip
    return LevelResult(
        subject, c, 10.0, int(tps * 10), 0, latencies=[p50] * 10,
        cpu_seconds={g: v * tps * 10 for g, v in cpu.items()},
        hwm_bytes={"engine": int(mib * MIB)},
    )  # fmt: skip


def _by_label(report: BenchReport) -> dict[str, bool | None]:
    return {c.label: c.met for c in report.checks}


def test_ledger_against_fabric_in_the_same_run() -> None:
    report = BenchReport("ledger")
    report.results = [
        _r("embedded", 50, 150, {"engine": 0.004}, mib=120),
        _r("embedded", 100, 260, {"engine": 0.004}, mib=250),
        _r("fabric", 50, 130, {"engine": 0.005}, mib=400),
        _r("fabric", 100, 200, {"engine": 0.005}, mib=430),
    ]
    ledger.add_checks(report)
    checks = _by_label(report)
    assert checks["best tx/s, embedded vs fabric (same run)"] is True
    assert checks["tx/s at c=50, embedded vs fabric"] is True
    # 250 MiB / 430 MiB is more than half
    assert checks["peak RSS MiB at c=100, embedded vs fabric peers+orderer"] is False
    assert report.reference == []  # measured Fabric: no published figures needed


def test_ledger_holds_a_full_machine_to_the_engine_on_every_core() -> None:
    # from c=200 on the machine is full: 1.3x Fabric's rate and at most 1.5 ms of the
    # engine's CPU per transaction; below it, level with Fabric is enough
    report = BenchReport("ledger")
    report.results = [
        _r("embedded", 100, 300, {"engine": 0.0020}),
        _r("embedded", 200, 480, {"engine": 0.0014}),
        _r("embedded", 400, 550, {"engine": 0.0021}),
        _r("fabric", 100, 260, {"engine": 0.003}),
        _r("fabric", 200, 400, {"engine": 0.003}),
        _r("fabric", 400, 500, {"engine": 0.003}),
    ]
    ledger.add_checks(report)
    checks = {c.label: c for c in report.checks}
    assert checks["tx/s at c=100, embedded vs fabric"].target == ">= 1x"
    assert checks["tx/s at c=100, embedded vs fabric"].met is True  # 1.15x
    assert checks["tx/s at c=200, embedded vs fabric"].target == ">= 1.3x"
    assert checks["tx/s at c=200, embedded vs fabric"].met is False  # 1.20x
    assert checks["tx/s at c=400, embedded vs fabric"].met is False  # 1.10x
    assert checks["engine CPU ms per committed tx at c=200"].ours == pytest.approx(1.4)
    assert checks["engine CPU ms per committed tx at c=200"].met is True
    assert checks["engine CPU ms per committed tx at c=400"].met is False
    assert "engine CPU ms per committed tx at c=100" not in checks


def test_registry_holds_c100_up_to_the_engine_on_every_core() -> None:
    report = BenchReport("registry")
    report.results = [
        _r("embedded", 50, 140, {"engine": 0.005}),
        _r("embedded", 100, 240, {"engine": 0.005}),
        _r("fabric", 50, 120, {"engine": 0.007}),
        _r("fabric", 100, 175, {"engine": 0.007}),
    ]
    registry.add_checks(report)
    checks = {c.label: c for c in report.checks}
    assert checks["registrations/s at c=50, embedded vs fabric"].target == ">= 1x"
    assert checks["registrations/s at c=100, embedded vs fabric"].target == ">= 1.3x"
    assert checks["registrations/s at c=100, embedded vs fabric"].met is True  # 1.37x


def test_ledger_without_fabric_uses_the_published_reference() -> None:
    report = BenchReport("ledger")
    report.results = [
        _r("embedded", 50, 120, {"engine": 0.006}, mib=90),
        _r("embedded", 100, 180, {"engine": 0.006}, mib=100),
    ]
    ledger.add_checks(report)
    assert report.reference_label == SOURCE
    best = next(c for c in report.checks if c.label.startswith("best tx/s"))
    assert best.theirs == FABRIC_BEST_TPS and best.met is False
    assert _by_label(report)["tx/s at c=50, embedded vs published Fabric"] is False
    mem = next(c for c in report.checks if c.label.startswith("peak RSS MiB at c=100"))
    assert mem.ours == pytest.approx(100.0) and mem.met is True
    assert any("6.00 ms" in n for n in report.notes)


def test_chaincode_checks_throughput_and_chaincode_cpu() -> None:
    report = BenchReport("chaincode")
    report.results = [
        _r(chaincode.PYTHON, 50, 110, {"chaincode": 0.001}),
        _r(chaincode.NODE, 50, 100, {"chaincode": 0.003}),
    ]
    chaincode.add_checks(report)
    assert _by_label(report) == {
        "tx/s at c=50, Python runtime vs Node": True,
        "chaincode CPU ms/tx at c=50, Python runtime vs Node": True,
    }


def test_gateway_checks_throughput_and_client_cpu() -> None:
    report = BenchReport("gateway")
    report.results = [
        _r(gateway.PYTHON, 10, 90, {"client": 0.003}),
        _r(gateway.NODE, 10, 100, {"client": 0.002}),
    ]
    gateway.add_checks(report)
    assert _by_label(report) == {
        "tx/s at c=10, Python client vs Node": False,
        "client CPU ms/tx at c=10, Python client vs Node": False,
    }


def test_registry_checks_rate_and_latency_bounds_at_the_best_level() -> None:
    report = BenchReport("registry")
    report.results = [
        _r("embedded", 10, 200, {}, p50=0.2),
        _r("embedded", 50, 260, {}, p50=0.6),
    ]
    registry.add_checks(report)
    assert _by_label(report) == {
        "registrations/s, best level (c=50)": True,
        "p50 s at c=50": False,
        "p99 s at c=50": True,
    }


def test_registry_admits_the_bna_first_then_the_bsp_and_the_dso(tmp_path: Path) -> None:
    topology = load_topology(port_offset=0)
    paths = sandbox_paths(tmp_path)
    target = Target(topology, paths, "embedded", Sandbox(topology, paths), False, None)
    admitted = registry.participants(target)
    assert [p["mspId"] for p in admitted] == ["TSOMSP", "BSP1MSP", "ARETIMSP"]
    assert admitted[0]["role"] == "TSO" and admitted[0]["eic"] == "10X1001A1001A345"
    assert admitted[2]["distributorCode"] == "002"
    assert "distributorCode" not in admitted[1]
