"""ESMP series: export -> import -> equal with the hash unchanged; every refusal named."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector import esmp

START = datetime(2026, 3, 2, tzinfo=UTC)


def _day(values: list[float]) -> esmp.MeasurementSeries:
    return esmp.build("S-1", "EVSE-1", START, "PT1M", values)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-500, max_value=500, allow_nan=False, allow_infinity=False),
        min_size=15,
        max_size=15 * 8,
    ).filter(lambda v: len(v) % 15 == 0)
)
def test_esmp_export_import_is_equal_and_keeps_its_hash(values: list[float]) -> None:
    series = esmp.build("S-1", "EVSE-1", START, "PT1M", values)
    exported, fp = esmp.fingerprint(series)
    again = esmp.parse(exported)
    re_exported, fp_again = esmp.fingerprint(again)
    assert re_exported == exported
    assert fp_again == fp
    assert again == esmp.parse(re_exported)


def test_esmp_the_same_series_written_otherwise_has_the_same_hash() -> None:
    content, fp = esmp.fingerprint(_day([4.0] * 30))
    document = json.loads(content)
    document["Period"]["timeInterval"] = {
        "start": "2026-03-02T01:00:00+01:00",  # the same instants, written another way
        "end": "2026-03-02T00:30Z",
    }
    document["Period"]["Point"].reverse()
    spaced = json.dumps(document, indent=2).encode()
    assert spaced != content
    assert esmp.fingerprint(esmp.parse(spaced))[1].sha256 == fp.sha256


def test_esmp_step_energies_are_kwh_per_quarter_hour() -> None:
    # 15 minutes at 4 kW = 1 kWh; then 15 minutes at 12 kW = 3 kWh
    assert esmp.step_energies(_day([4.0] * 15 + [12.0] * 15)) == [1.0, 3.0]
    four_seconds = esmp.build("S-2", "EVSE-1", START, "PT4S", [36.0] * 225)
    assert esmp.step_energies(four_seconds) == [9.0]


def test_esmp_fingerprint_is_what_the_ledger_anchors() -> None:
    _, fp = esmp.fingerprint(_day([2.0] * 1440))
    anchor = fp.anchor()
    assert anchor["points"] == 1440 and anchor["resolution"] == "PT1M"
    assert anchor["start"] == "2026-03-02T00:00:00Z" and anchor["end"] == "2026-03-03T00:00:00Z"
    assert anchor["stepEnergies"] == [0.5] * 96 and anchor["measurementUnit"] == "KWT"


def _document(**period: object) -> dict[str, object]:
    base: dict[str, object] = {
        "timeInterval": {"start": "2026-03-02T00:00Z", "end": "2026-03-02T00:03Z"},
        "resolution": "PT1M",
        "Point": [{"position": n, "quantity": 1.0} for n in (1, 2, 3)],
    }
    base.update(period)
    return {"mRID": "S", "registeredResource.mRID": "EVSE-1", "Period": base}


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (
            {"Point": [{"position": n, "quantity": 1.0} for n in (1, 3, 4)]},
            "position 2 (2026-03-02T00:01Z) is missing",
        ),
        (
            {"Point": [{"position": n, "quantity": 1.0} for n in (1, 1, 2)]},
            "position 2 (2026-03-02T00:01Z) appears twice",
        ),
        (
            {"Point": [{"position": 1, "quantity": 1.0}]},
            "1 points at PT1M from 2026-03-02T00:00Z to 2026-03-02T00:03Z; the interval needs 3",
        ),
        ({"resolution": "PT5M"}, "resolution 'PT5M' is not one the market knows: PT4S, PT1M"),
        (
            {"timeInterval": {"start": "2026-03-02T00:03Z", "end": "2026-03-02T00:00Z"}},
            "must be before its end",
        ),
        ({"timeInterval": {"start": "2026-03-02T00:00", "end": "x"}}, "must carry Z"),
    ],
)
def test_esmp_refuses_with_the_rule(period: dict[str, object], words: str) -> None:
    with pytest.raises(esmp.SeriesError) as info:
        esmp.load(_document(**period))
    assert words in str(info.value)
    assert info.value.fields


def test_esmp_refuses_unknown_fields_and_nan() -> None:
    with pytest.raises(esmp.SeriesError, match="is not a field of an ESMP series"):
        esmp.load({**_document(), "colour": "blue"})
    with pytest.raises(esmp.SeriesError, match="not JSON"):
        esmp.parse(b'{"mRID": ')
    bad = _document(Point=[{"position": n, "quantity": float("nan")} for n in (1, 2, 3)])
    with pytest.raises(esmp.SeriesError):
        esmp.load(bad)
