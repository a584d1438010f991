"""The driver protocol and the Python driver's window bookkeeping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cbp.bench.driver import MAX_ERROR_KINDS, Window, error_kind
from cbp.bench.protocol import DriverConfig, decode_event, encode_event, render_args
from cbp.bench.settings import BenchSettings
from cbp.bench.workloads import id_base, pod_template


def _config(**changes: object) -> DriverConfig:
    data: dict[str, object] = {
        "profile": "/x/connection-profile.json",
        "org": "bsp1",
        "channel": "bsp1-channel",
        "chaincode": "smoke",
        "function": "Put",
        "args": ["k$ID", "v"],
        "levels": [1, 10],
        "duration": 5,
    }
    data.update(changes)
    return DriverConfig.model_validate(data)


def test_render_args_puts_a_unique_8_digit_id_in_every_arg() -> None:
    assert render_args(["k-$ID", "x", "$ID$ID"], 42) == ["k-00000042", "x", "0000004200000042"]
    with pytest.raises(ValueError, match="8 digits"):
        render_args(["$ID"], 10**8)


def test_driver_config_refuses_bad_values() -> None:
    assert _config().warmup == 2.0
    with pytest.raises(ValidationError):
        _config(levels=[])
    with pytest.raises(ValidationError):
        _config(duration=0)
    with pytest.raises(ValidationError):
        _config(surprise=True)


def test_events_round_trip_and_garbage_is_named() -> None:
    line = encode_event("progress", level=10, committed=5)
    assert decode_event(line) == {"event": "progress", "level": 10, "committed": 5}
    with pytest.raises(ValueError, match="not JSON"):
        decode_event("Traceback (most recent call last):")
    with pytest.raises(ValueError, match="without an 'event'"):
        decode_event('{"level": 1}')


def test_window_counts_only_completions_while_open() -> None:
    w = Window()
    w.record(0.0, 1.0, None)  # before it opens: warm-up
    w.opened = 2.0
    w.record(1.5, 2.5, None)  # started in warm-up, completed inside: counts
    w.record(2.5, 2.8, RuntimeError("boom"))
    w.closed = 3.0
    w.record(2.9, 3.1, None)  # completed after it closed: drain
    assert w.committed == 1
    assert w.latencies == [pytest.approx(1.0)]
    assert w.failed == 1
    assert w.errors == {"RuntimeError: boom": 1}


def test_window_error_kinds_are_bounded_and_strip_tx_ids() -> None:
    txid = "ab" * 32
    assert error_kind(ValueError(f"tx {txid} failed\ndetails")) == "ValueError: tx <txid> failed"
    w = Window(opened=0.0)
    for i in range(MAX_ERROR_KINDS + 5):
        w.record(0.0, 1.0, RuntimeError(f"kind {i}"))
    assert len(w.errors) == MAX_ERROR_KINDS + 1
    assert w.errors["other errors"] == 5


def test_pod_template_is_a_register_pod_argument_with_a_pod_code_per_id() -> None:
    import json

    pod = json.loads(render_args([pod_template("BSP", "TSO", "DSO")], 7)[0])
    assert pod["meteringPointId"] == "IT002E00000007"
    assert pod["flexibilityServiceProviderId"] == "BSP"
    assert pod["distributionGridOperatorName"] == "DSO"


def test_id_base_is_spaced_on_a_fresh_sandbox_and_random_on_a_running_one() -> None:
    fresh = BenchSettings(levels=[1, 10], duration=1, warmup=0, port_offset=0, rounds=2)
    # 2 levels x 2 rounds x 2 subjects = 8 driver runs, each with an eighth of the 8 digits
    bases = [id_base(fresh, run) for run in range(8)]
    assert bases == [run * 12_500_000 for run in range(8)]
    assert bases[-1] + 12_500_000 - 1 < 10**8  # the last run's numbers still have 8 digits
    with pytest.raises(ValueError, match="driver run 8 is outside this bench's 8 runs"):
        id_base(fresh, 8)
    attached = BenchSettings(levels=[1], duration=1, warmup=0, port_offset=0, home="/x")
    assert 10**7 <= id_base(attached) < 9 * 10**7
