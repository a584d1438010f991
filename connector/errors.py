"""The connector's errors and their one mapping to HTTP, and the handlers that render them.

    ApiError                 status   code (stable, in every error body)
    ├── InvalidInput         422      InvalidArgument
    ├── Unauthenticated      401      Unauthenticated
    ├── Forbidden            403      Forbidden
    ├── NotFound             404      NotFound
    ├── Conflict             409      WrongState, AlreadyExists, ... (the ledger's own code)
    ├── TooLarge             413      TooLarge
    ├── UnsupportedMedia     415      UnsupportedMediaType
    ├── TooManyAttempts      429      TooManyAttempts (log-in throttling)
    ├── LedgerDown           503      LedgerUnavailable
    └── LedgerSlow           504      LedgerTimeout

A refusal of the registry chaincode keeps its status and message verbatim. No response ever
carries a traceback; an unexpected error is logged once with its traceback under a reference
that the 500 body names.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from connector.ledger import LedgerError, LedgerRefused, LedgerTimeout, LedgerUnavailable
from connector.schemas.common import ErrorBody, ErrorResponse, FieldError
from hardening.logs import report_unexpected

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "BadRequest"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: list[FieldError] | None = None,
        operation_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields or []
        self.operation_id = operation_id
        self.headers = headers

    def body(self) -> ErrorResponse:
        return ErrorResponse(
            error=ErrorBody(
                status=self.status,
                code=self.code,
                message=self.message,
                fields=self.fields,
                operationId=self.operation_id,
            )
        )


class InvalidInput(ApiError):
    status, code = 422, "InvalidArgument"


class Unauthenticated(ApiError):
    status, code = 401, "Unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "Forbidden"


class NotFound(ApiError):
    status, code = 404, "NotFound"


class Conflict(ApiError):
    status, code = 409, "Conflict"


class TooLarge(ApiError):
    status, code = 413, "TooLarge"


class UnsupportedMedia(ApiError):
    status, code = 415, "UnsupportedMediaType"


class TooManyAttempts(ApiError):
    status, code = 429, "TooManyAttempts"


class LedgerDown(ApiError):
    status, code = 503, "LedgerUnavailable"


class LedgerSlow(ApiError):
    status, code = 504, "LedgerTimeout"


_BY_STATUS: dict[int, type[ApiError]] = {
    c.status: c for c in (InvalidInput, Forbidden, NotFound, Conflict, TooLarge)
}


def from_ledger(exc: LedgerError, operation_id: str | None = None) -> ApiError:
    """A ledger error as the API reports it."""
    if isinstance(exc, LedgerRefused):
        cls = _BY_STATUS.get(exc.status, Conflict)
        return cls(exc.message, code=exc.code, operation_id=operation_id)
    if isinstance(exc, LedgerUnavailable):
        return LedgerDown(f"{exc}; start the sandbox, or try again", operation_id=operation_id)
    if isinstance(exc, LedgerTimeout):
        return LedgerSlow(str(exc), operation_id=operation_id)
    return LedgerDown(str(exc), operation_id=operation_id)


def rule_of(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_fields(errors: list[dict[str, Any]]) -> list[FieldError]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        kind = err.get("type")
        if kind == "missing":
            rule = "is mandatory and missing"
        elif kind == "extra_forbidden":
            rule = "is not a field of this request"
        else:
            rule = rule_of(str(err.get("msg", "is not valid")))
        out.append(FieldError(field=".".join(loc) or None, rule=rule))
    return out


def _methods(app: FastAPI, scope: MutableMapping[str, Any]) -> list[str]:
    """Every method some route serves at this path (each method is a route of its own)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body().model_dump(), status_code=error.status, headers=error.headers)


def install(app: FastAPI) -> None:
    """The one error boundary of the HTTP edge."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return _response(exc)

    @app.exception_handler(LedgerError)
    async def _ledger(_: Request, exc: LedgerError) -> JSONResponse:
        return _response(from_ledger(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = validation_fields(list(exc.errors()))
        summary = "; ".join(f"{f.field or 'body'}: {f.rule}" for f in fields[:3])
        return _response(InvalidInput(summary or "the request is not valid", fields=fields))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # a body that is not JSON (or not multipart) at all: bad input like any other
            return _response(InvalidInput(f"the request body cannot be read: {exc.detail}"))
        names = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthenticated"}
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_methods(app, request.scope))
        error = ApiError(
            str(exc.detail),
            code=names.get(exc.status_code, "HttpError"),
            headers=headers or None,
        )
        error.status = exc.status_code
        return _response(error)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        report_unexpected(log, exc, f"unexpected error, reference {reference}")
        error = ApiError(f"an unexpected error occurred; reference {reference}", code="Internal")
        error.status = 500
        return _response(error)


# Every route documents these; the OpenAPI document carries the one error schema.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "not logged in, or the session expired",
        403: "not this user's to do or to see",
        404: "no such resource",
        409: "the resource is in the wrong state for this (the ledger's words)",
        413: "the document is over 5 MB",
        415: "the document is neither PDF nor XML",
        422: "a field breaks a rule; `fields` names each",
        429: "too many failed log-ins for this user name; see Retry-After",
        503: "the ledger is unreachable; the operation stays queued",
        504: "the ledger did not answer in time",
    }
    return {s: {"model": ErrorResponse, "description": described[s]} for s in statuses}
