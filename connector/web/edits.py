"""Edit forms: a record's current values shown in its form's fields, and only what the user
changed sent back (an update service takes the fields to change, and a field the form cannot
show exactly, such as a time of day behind a date field, must not change by being shown)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from connector.web.forms import Field, Outcome, Section, parse


def sections_for(model: type[BaseModel], sections: tuple[Section, ...]) -> tuple[Section, ...]:
    """The fields of `sections` that `model` may change, sections left empty dropped."""
    kept = []
    for sec in sections:
        fields = tuple(f for f in sec.fields if f.name in model.model_fields)
        if fields:
            kept.append(Section(sec.title, fields))
    return tuple(kept)


def _shown(f: Field, value: Any) -> str:
    if value is None:
        return ""
    if f.kind == "date" and isinstance(value, str):
        return value[:10]  # ISO 8601 in the record; the date field shows its day
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def current_values(record: dict[str, Any], sections: tuple[Section, ...]) -> dict[str, str]:
    """The record's values as the form's fields show them."""
    return {f.name: _shown(f, record.get(f.name)) for sec in sections for f in sec.fields}


def changes(
    model: type[BaseModel],
    submitted: dict[str, str],
    record: dict[str, Any],
    sections: tuple[Section, ...],
) -> Outcome:
    """The update body holding only the fields whose submitted value differs from what the
    form showed; an untouched field is left out, so it keeps its exact value on the ledger."""
    shown = current_values(record, sections)
    whole = parse(model, submitted, set(shown))  # rules across fields see every value
    if not whole.ok:
        return whole
    changed = {k: v for k, v in submitted.items() if v != shown.get(k, "")}
    cleared = [k for k, v in shown.items() if v and k not in submitted]
    outcome = parse(model, changed, set(shown))
    outcome.values = {**shown, **{k: "" for k in cleared}, **submitted}
    for name in cleared:
        outcome.body = None
        outcome.errors[name] = "a value on the ledger cannot be removed here, only changed"
    return outcome


__all__ = ["changes", "current_values", "sections_for"]
