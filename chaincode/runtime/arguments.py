"""A contract's JSON object argument, decoded within the runtime's bounds (``strict``) and
refused as ``InvalidArgument`` naming the argument (and the field, where the fault is inside)."""

from __future__ import annotations

from typing import Any

from .refusals import InvalidArgument
from .strict import StrictInputError, loads_json

__all__ = ["load_json"]


def load_json(raw: str | bytes, function: str, argument: str) -> dict[str, Any]:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(
                f"{function} argument '{argument}' is not UTF-8 (byte {exc.start})"
            ) from None
    try:
        value = loads_json(raw)
    except StrictInputError as exc:
        raise InvalidArgument(f"{function} argument '{argument}': {exc}") from None
    except ValueError as exc:  # json.JSONDecodeError
        where = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        raise InvalidArgument(
            f"{function} argument '{argument}' is not valid JSON: "
            f"{getattr(exc, 'msg', exc)} at line {where[0]} column {where[1]}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"{function} argument '{argument}' must be a JSON object, not {type(value).__name__}"
        )
    return value
