"""The rules a form's values break, asked as the user types: the API's model, in its words."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connector.errors import InvalidInput
from connector.web import forms
from connector.web.session import PageUser

router = APIRouter(prefix="/ui")


@router.post("/check/{form_name}", response_class=JSONResponse)
async def check_form(form_name: str, request: Request, user: PageUser) -> JSONResponse:
    """The rules a form's values break, as the user types (the API's model and words)."""
    model = forms.MODELS.get(form_name)
    if model is None:
        raise InvalidInput(f"no form {form_name!r}")
    form = await request.form()
    values = forms.values_of(form)
    outcome = forms.parse(model, values, set(values) | {str(k) for k in form})
    return JSONResponse({"fields": outcome.errors, "form": outcome.form_errors})
