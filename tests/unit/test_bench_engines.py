"""`cbp bench ledger | registry` with both engines: which engines run, the second sandbox's
port shift, both sandboxes up before the first window and down after the last (also on error),
and the windows taken in ABBA order and pooled (no network: sandboxes and drivers faked)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cbp.bench import ledger, registry, target
from cbp.bench.protocol import DriverConfig
from cbp.bench.runner import BenchError, Watch
from cbp.bench.settings import BenchSettings
from cbp.bench.stats import LevelResult
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import load_topology, max_port_offset


def _settings(
    home: str | None = None, rounds: int = 1, levels: list[int] | None = None
) -> BenchSettings:
    return BenchSettings(
        levels=levels or [1, 10], duration=3.0, warmup=1.0, port_offset=7300, home=home,
        rounds=rounds,
    )  # fmt: skip


# ---- which engines ------------------------------------------------------------------------


def test_fabric_is_skipped_with_the_reason_when_its_binaries_are_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(target, "fabric_missing", lambda: "peer not found in PATH")
    notes: list[str] = []
    assert target.engines_to_run(_settings(), None, notes) == ["embedded"]
    assert notes == ["real Fabric column skipped: peer not found in PATH"]


def test_both_engines_by_default_embedded_first_when_fabric_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(target, "fabric_missing", lambda: None)
    notes: list[str] = []
    assert target.engines_to_run(_settings(), None, notes) == ["embedded", "fabric"]
    assert target.engines_to_run(_settings(), ["fabric"], notes) == ["fabric"]
    assert notes == []


def test_attached_measures_only_the_running_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    def never() -> str:
        raise AssertionError("a running sandbox needs no binaries lookup")

    monkeypatch.setattr(target, "fabric_missing", never)
    notes: list[str] = []
    assert target.engines_to_run(_settings(home="/tmp/sb"), None, notes) == ["embedded"]
    assert notes == []


# ---- port shift ---------------------------------------------------------------------------


def test_port_shift_is_the_smallest_hundred_that_clears_every_port() -> None:
    assert target.port_shift([7050, 7051, 9443]) == 100
    # 7050 + 100 and + 200 land on ports of the set: 300 is the first clear shift
    assert target.port_shift([7050, 7150, 7250]) == 300
    assert target.port_shift([7050, 7250]) == 100
    # a third copy at +2*100 would land on 7250: every copy is checked against every other
    assert target.port_shift([7050, 7250], copies=3) == 300


def test_port_shift_refuses_when_no_shift_stays_below_65536() -> None:
    with pytest.raises(ValueError, match="below 65536"):
        target.port_shift([65400, 65500])


def test_engine_offsets_for_the_topology_put_the_sandboxes_on_disjoint_ports() -> None:
    offsets = target.engine_port_offsets(7300, 2)
    assert offsets == [7300, 7400]
    first, second = ({p for _, p in load_topology(port_offset=o).all_ports()} for o in offsets)
    assert first.isdisjoint(second)
    assert max(second) < 65536
    assert target.engine_port_offsets(7300, 1) == [7300]


def test_engine_offsets_past_the_topologys_limit_name_the_offset() -> None:
    base = max_port_offset(load_topology(port_offset=0).spec) - 50  # room for one, not two
    with pytest.raises(BenchError, match=f"port offset {base}: no room for 2 sandboxes"):
        target.engine_port_offsets(base, 2)


# ---- both sandboxes, ABBA windows ---------------------------------------------------------


class FakeSandboxes:
    """`own_sandbox` and `run_driver` stand-ins recording what happened, in order."""

    def __init__(self, tmp_path: Path, fail_on: str | None = None) -> None:
        self.tmp_path = tmp_path
        self.fail_on = fail_on
        self.events: list[str] = []
        self.configs: list[DriverConfig] = []

    @contextmanager
    def own_sandbox(
        self,
        engine: str,
        port_offset: int,
        say: target.Say,
        topology_file: str | None = None,
        keep: bool = False,
    ) -> Iterator[target.Target]:
        if engine == self.fail_on:
            raise BenchError(f"{engine} failed to start")
        topology = load_topology(topology_file, port_offset=port_offset)
        paths = sandbox_paths(self.tmp_path / engine)
        self.events.append(f"up {engine} {port_offset}")
        try:
            yield target.Target(
                topology, paths, engine, Sandbox(topology, paths), True, up_seconds=1.5
            )
        finally:
            self.events.append(f"down {engine}")

    def run_driver(
        self, argv: list[str], config: DriverConfig, watch: Watch, subject: str, say: object,
        log_path: Path,
    ) -> list[LevelResult]:  # fmt: skip
        assert log_path.parent.parent.name == subject  # the driver's log in its own sandbox
        self.events.append(f"measure {subject} c={config.levels}")
        self.configs.append(config)
        tps = 100 if subject == "embedded" else 80
        return [LevelResult(subject, lv, 3.0, tps * 3, 0) for lv in config.levels]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSandboxes:
    f = FakeSandboxes(tmp_path)
    monkeypatch.setattr(target, "fabric_missing", lambda: None)
    monkeypatch.setattr(target, "own_sandbox", f.own_sandbox)
    monkeypatch.setattr(ledger, "run_driver", f.run_driver)
    return f


def test_ledger_starts_both_sandboxes_then_alternates_abba_and_pools_rounds(
    fakes: FakeSandboxes,
) -> None:
    report = ledger.run_ledger(_settings(rounds=2))
    assert fakes.events == [
        "up embedded 7300",
        "up fabric 7400",
        "measure embedded c=[1]", "measure fabric c=[1]",
        "measure fabric c=[1]", "measure embedded c=[1]",
        "measure fabric c=[10]", "measure embedded c=[10]",
        "measure embedded c=[10]", "measure fabric c=[10]",
        "down fabric",
        "down embedded",
    ]  # fmt: skip
    # every driver run writes its own keys: 8 runs, each an eighth of the 8-digit range
    assert [c.id_base for c in fakes.configs] == [n * 12_500_000 for n in range(8)]
    rows = [(r.subject, r.concurrency, r.window_seconds, r.tps) for r in report.results]
    assert rows == [
        ("embedded", 1, 6.0, 100.0), ("fabric", 1, 6.0, 80.0),
        ("embedded", 10, 6.0, 100.0), ("fabric", 10, 6.0, 80.0),
    ]  # fmt: skip
    assert report.startup_seconds == {"embedded": 1.5, "fabric": 1.5}
    assert report.settings["rounds"] == 2
    assert report.settings["sandboxes"] == (
        "embedded port offset 7300, fabric port offset 7400, all up for the whole run"
    )
    best = next(c for c in report.checks if c.label.startswith("best tx/s, embedded vs fabric"))
    assert best.met is True


def test_a_failed_second_sandbox_stops_the_first_and_measures_nothing(
    fakes: FakeSandboxes,
) -> None:
    fakes.fail_on = "fabric"
    with pytest.raises(BenchError, match="fabric failed to start"):
        ledger.run_ledger(_settings())
    assert fakes.events == ["up embedded 7300", "down embedded"]


def test_an_interrupted_run_stops_both_sandboxes(
    fakes: FakeSandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def interrupted(*args: object, **kwargs: object) -> list[LevelResult]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return fakes.run_driver(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "run_driver", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ledger.run_ledger(_settings())
    assert fakes.events[-2:] == ["down fabric", "down embedded"]


def test_one_engine_keeps_one_sandbox_on_the_given_offset(fakes: FakeSandboxes) -> None:
    report = ledger.run_ledger(_settings(levels=[10]), engines=["embedded"])
    assert fakes.events == ["up embedded 7300", "measure embedded c=[10]", "down embedded"]
    assert "sandboxes" not in report.settings
    assert [r.subject for r in report.results] == ["embedded"]


def test_registry_admits_participants_on_both_engines_before_the_first_window(
    fakes: FakeSandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        registry, "bootstrap", lambda t, say: fakes.events.append(f"admit {t.engine}")
    )
    report = registry.run_registry(_settings(levels=[50]))
    assert fakes.events == [
        "up embedded 7300", "up fabric 7400", "admit embedded", "admit fabric",
        "measure embedded c=[50]", "measure fabric c=[50]",
        "down fabric", "down embedded",
    ]  # fmt: skip
    assert {c.function for c in fakes.configs} == {"RegisterPod"}
    assert [(r.subject, r.concurrency) for r in report.results] == [
        ("embedded", 50), ("fabric", 50),
    ]  # fmt: skip


# ---- CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bench", ["ledger", "registry"])
def test_cli_parses_rounds_for_the_engine_benches(bench: str) -> None:
    from cbp import bench_cli

    parser = argparse.ArgumentParser()
    bench_cli.add_bench_parser(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["bench", bench, "--rounds", "3"])
    assert bench_cli.settings_from(args).rounds == 3
    assert bench_cli.settings_from(parser.parse_args(["bench", bench])).rounds == 1
    with pytest.raises(ValueError, match="--rounds 0"):
        bench_cli.settings_from(parser.parse_args(["bench", bench, "--rounds", "0"]))


def test_cli_pins_the_bench_to_the_cpus_it_is_given() -> None:
    from cbp import bench_cli
    from cbp.bench.settings import parse_cpus

    available = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser()
    bench_cli.add_bench_parser(parser.add_subparsers(dest="cmd"))
    first = str(available[0])
    assert bench_cli.settings_from(
        parser.parse_args(["bench", "ledger", "--cpus", first])
    ).cpus == [available[0]]
    assert bench_cli.settings_from(parser.parse_args(["bench", "ledger"])).cpus is None
    assert parse_cpus(f"{available[0]}-{available[-1]}") == available
    with pytest.raises(ValueError, match="is not one"):
        parse_cpus(str(max(available) + 1))
    with pytest.raises(ValueError, match="not a CPU number"):
        parse_cpus("zero")
    with pytest.raises(ValueError, match="not one already running"):
        bench_cli.settings_from(
            parser.parse_args(["bench", "ledger", "--cpus", first, "--home", "/tmp/x"])
        )
