"""Arguments from bytes and results to bytes, driven by a transaction's real type hints.

Arguments: ``str`` as UTF-8, ``bytes`` raw, ``int``/``float``/``bool`` parsed, ``Enum`` by value,
anything else (dict, list, pydantic models, typed containers) decoded from JSON and validated
with pydantic. Results: ``None`` empty, ``str`` UTF-8, ``bytes`` raw, anything else compact JSON
with sorted keys, so every endorsing peer returns the same bytes.

Converters are built once per transaction when the contract is loaded, never per call.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import inspect
import json
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import ChaincodeError

__all__ = ["Parameter", "json_schema", "make_parser", "to_bytes"]

Parser = Callable[[bytes], Any]
SCHEMA_REF = "#/components/schemas/{model}"

_TRUE = frozenset({b"true", b"1"})
_FALSE = frozenset({b"false", b"0"})


@dataclasses.dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    hint: Any
    parse: Parser
    schema: dict[str, Any]
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


def _parse_str(raw: bytes) -> str:
    return raw.decode("utf-8")


def _parse_bytes(raw: bytes) -> bytes:
    return raw


def _parse_bool(raw: bytes) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true or false")


def _unwrap_optional(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return hint


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)


def make_parser(hint: Any) -> Parser:
    """Build the bytes -> value converter for one parameter type."""
    hint = _unwrap_optional(hint)
    if hint is inspect.Parameter.empty or hint is str or hint is Any:
        return _parse_str
    if hint is bytes:
        return _parse_bytes
    if hint is bool:
        return _parse_bool
    if hint is int:
        return int
    if hint is float:
        return float
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        enum_type = hint

        def parse_enum(raw: bytes) -> Any:
            text = raw.decode("utf-8")
            try:
                return enum_type(text)
            except ValueError:
                if text in enum_type.__members__:
                    return enum_type.__members__[text]
                allowed = ", ".join(str(e.value) for e in enum_type)
                raise ValueError(f"expected one of {allowed}") from None

        return parse_enum
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint.model_validate_json
    adapter: TypeAdapter[Any] = TypeAdapter(hint)
    return adapter.validate_json


def convert_argument(param: Parameter, function: str, raw: bytes) -> Any:
    try:
        return param.parse(raw)
    except ValidationError as exc:
        raise ChaincodeError(
            f"argument {param.name!r} of {function} is not a valid {_type_name(param.hint)}: "
            f"{_validation_text(exc)}"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ChaincodeError(
            f"argument {param.name!r} of {function} is not a valid {_type_name(param.hint)}: {exc}"
        ) from None


def _type_name(hint: Any) -> str:
    if hint is inspect.Parameter.empty:
        return "str"
    return getattr(hint, "__name__", None) or str(hint)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"a {type(value).__name__} cannot be returned as JSON")


def to_json_bytes(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


def to_bytes(result: Any) -> bytes:
    """The wire form of a transaction's return value."""
    if result is None:
        return b""
    if isinstance(result, bytes):
        return result
    if isinstance(result, str):
        return result.encode("utf-8")
    if isinstance(result, bytearray | memoryview):
        return bytes(result)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    elif isinstance(result, enum.Enum):
        result = result.value
    return to_json_bytes(result)


_PRIMITIVE_SCHEMAS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    bytes: {"type": "string", "format": "byte"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    dict: {"type": "object"},
    list: {"type": "array"},
    Any: {},
}


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, {"$id": name, **definition})
    return schema


def json_schema(hint: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a parameter or return type, as fabric-contract-api writes it.

    Named models go into ``components`` (the metadata's components.schemas) and are
    referenced as ``#/components/schemas/<Name>``.
    """
    hint = _unwrap_optional(hint)
    if hint is inspect.Parameter.empty:
        return {"type": "string"}
    primitive = _PRIMITIVE_SCHEMAS.get(hint)
    if primitive is not None:
        return dict(primitive)
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        name = hint.__name__
        if name not in components:
            schema = _hoist(hint.model_json_schema(ref_template=SCHEMA_REF), components)
            components[name] = {"$id": name, **schema}
        return {"$ref": SCHEMA_REF.format(model=name)}
    try:
        return _hoist(TypeAdapter(hint).json_schema(ref_template=SCHEMA_REF), components)
    except Exception:  # noqa: BLE001 - a type pydantic cannot describe still works as a JSON value
        return {}
