"""Edit forms send only what the user changed, and never change a value by showing it."""

from __future__ import annotations

from connector.schemas import registry as s
from connector.web import edits, forms

SECTIONS = edits.sections_for(s.UvamUpdate, forms.UVAM_SECTIONS)
RECORD = {
    "name": "Rome EV aggregate",
    "perimeter": "Centro-Sud",
    "maximumQualifiedPower": 20.0,
    "minimumQualifiedPower": 15.0,
    "startDateTime": "2026-04-01T06:30:00Z",  # a time of day the date field cannot show
}


def test_the_form_shows_the_records_values_as_its_fields_do() -> None:
    shown = edits.current_values(RECORD, SECTIONS)
    assert shown["perimeter"] == "Centro-Sud"
    assert shown["maximumQualifiedPower"] == "20"
    assert shown["startDateTime"] == "2026-04-01"
    assert "technicalFlexibilityServiceProviderId" in shown  # updatable, even when empty
    assert all(name in s.UvamUpdate.model_fields for name in shown)


def test_only_the_changed_field_is_sent_and_a_shown_date_keeps_its_time() -> None:
    submitted = {k: v for k, v in edits.current_values(RECORD, SECTIONS).items() if v}
    submitted["perimeter"] = "Centro-Nord"
    outcome = edits.changes(s.UvamUpdate, submitted, RECORD, SECTIONS)
    assert outcome.ok and outcome.body is not None
    assert outcome.body.model_dump(exclude_unset=True) == {"perimeter": "Centro-Nord"}


def test_nothing_changed_is_refused_in_the_apis_words() -> None:
    submitted = {k: v for k, v in edits.current_values(RECORD, SECTIONS).items() if v}
    outcome = edits.changes(s.UvamUpdate, submitted, RECORD, SECTIONS)
    assert not outcome.ok
    assert outcome.form_errors == ["an update must change at least one field"]


def test_emptying_a_field_is_refused_beside_it_and_the_form_keeps_the_users_values() -> None:
    submitted = {k: v for k, v in edits.current_values(RECORD, SECTIONS).items() if v}
    del submitted["perimeter"]
    submitted["name"] = "Renamed"
    outcome = edits.changes(s.UvamUpdate, submitted, RECORD, SECTIONS)
    assert not outcome.ok
    assert "cannot be removed" in outcome.errors["perimeter"]
    assert outcome.values["name"] == "Renamed" and outcome.values["perimeter"] == ""


def test_a_rule_across_fields_sees_the_unchanged_values_too() -> None:
    pod = {"contractedPower": 200.0, "maximumFlexUp": 120.0, "maximumFlexDown": 100.0}

    sections = (
        forms.Section(
            "Power",
            tuple(
                forms.Field(n, n, "number")
                for n in ("contractedPower", "maximumFlexUp", "maximumFlexDown")
            ),
        ),
    )
    outcome = edits.changes(
        s.PodUpdate,
        {"contractedPower": "200", "maximumFlexUp": "120", "maximumFlexDown": "250"},
        pod,
        sections,
    )
    assert not outcome.ok
    assert outcome.errors["maximumFlexDown"] == (
        "maximumFlexDown 250 kW exceeds contractedPower 200 kW"
    )
