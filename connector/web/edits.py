"""Edit forms: a record's current values shown in its form's fields, and only what the user
changed sent back (an update service takes the fields to change, and a field the form cannot
show exactly, such as a time of day behind a date field, must not change by being shown)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from connector.deps import Principal
from connector.errors import ApiError
from connector.schemas.common import OperationOut
from connector.web.actions import idempotency_key, new_key, perform
from connector.web.forms import Field, Outcome, Section, parse, values_of
from connector.web.templating import render


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


Update = Callable[[BaseModel, Response, str, str | None], Awaitable[OperationOut]]


@dataclass(frozen=True)
class EditForm:
    """One entity's edit page: which update model, which fields, where it lives."""

    model: type[BaseModel]
    sections: tuple[Section, ...]
    section: str  # the navigation entry the page belongs to
    noun: str  # "POD", "UVAM"
    entity_id: str
    back: str  # the entity's page
    list_href: str
    list_label: str
    check: str  # the live check's form name

    def page(
        self,
        request: Request,
        user: Principal,
        record: dict[str, Any],
        outcome: Outcome | None = None,
        error: ApiError | None = None,
    ) -> HTMLResponse:
        failed = 422 if outcome and not outcome.ok else 200
        return render(
            request,
            "edit.html",
            user,
            self.section,
            status_code=error.status if error else failed,
            form=self,
            values=outcome.values if outcome else current_values(record, self.sections),
            errors=outcome.errors if outcome else {},
            form_errors=(outcome.form_errors if outcome else [])
            + ([error.message] if error else []),
            key=new_key(),
        )

    async def submit(
        self,
        request: Request,
        user: Principal,
        connector: Any,
        record: dict[str, Any],
        update: Update,
    ) -> Response:
        """The changed fields through the API's update service; a refusal shows the form
        again with the user's values and the reason."""
        form = await request.form()
        outcome = changes(self.model, values_of(form), record, self.sections)
        if not outcome.ok or outcome.body is None:
            return self.page(request, user, record, outcome)
        body, key = outcome.body, idempotency_key(form)

        async def refused(exc: ApiError) -> Response:
            return self.page(request, user, record, outcome, exc)

        return await perform(
            connector,
            lambda response, prefer: update(body, response, prefer, key),
            self.back,
            refused,
        )


__all__ = ["EditForm", "changes", "current_values", "sections_for"]
