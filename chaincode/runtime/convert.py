"""Arguments from bytes and results to bytes, driven by a transaction's real type hints.

Arguments: ``str`` as UTF-8, ``bytes`` raw, ``int``/``float``/``bool`` parsed, ``Enum`` by value,
anything else (dict, list, pydantic models, typed containers) decoded from JSON within the
bounds of ``strict.loads_json`` and validated with pydantic. A contract with ``strict_text``
(the default) also has its ``str`` arguments refused when they hold control or direction
characters or run past ``max_text_argument`` characters. Every refusal is a status-400
``ChaincodeError`` naming the argument; it quotes at most 64 characters of what was given.
Results: ``None`` empty, ``str`` UTF-8, ``bytes`` raw, anything else compact JSON with sorted
keys, so every endorsing peer returns the same bytes.

Converters are built once per transaction when the contract is loaded, never per call.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import inspect
import json
import math
import re
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import ChaincodeError
from .strict import MAX_INT_DIGITS, MAX_NUMBER_CHARS, check_text, loads_json, quote

__all__ = ["Parameter", "json_schema", "make_parser", "to_bytes"]

Parser = Callable[[bytes], Any]
SCHEMA_REF = "#/components/schemas/{model}"

_TRUE = frozenset({b"true", b"1"})
_FALSE = frozenset({b"false", b"0"})
# ASCII digits only: int() would also read other scripts' digits ("١٢")
_INTEGER = re.compile(rf"[+-]?[0-9]{{1,{MAX_INT_DIGITS}}}")
# the status of a call whose arguments are wrong: the caller's fault, never the chaincode's
ARGUMENT_STATUS = 400


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
    raise ValueError(f"expected true or false, got {quote(raw.decode('utf-8'))}")


def _parse_int(raw: bytes) -> int:
    text = raw.decode("utf-8").strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(
            f"expected an integer of at most {MAX_INT_DIGITS} digits, got {quote(text)}"
        )
    return int(text)


def _parse_float(raw: bytes) -> float:
    text = raw.decode("utf-8").strip()
    try:
        value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {quote(text)}")
    return value


def _strict_str(limit: int) -> Parser:
    def parse(raw: bytes) -> str:
        text = raw.decode("utf-8")
        if len(text) > limit:
            raise ValueError(f"{len(text)} characters (at most {limit})")
        # A composite key (a page's bookmark) starts with U+0000 and separates its parts with
        # it, as Fabric lays them out; no other text may hold one.
        check_text(text.replace("\x00", "") if text.startswith("\x00") else text, "the text")
        return text

    return parse


def _json_parser(validate: Callable[[Any], Any]) -> Parser:
    def parse(raw: bytes) -> Any:
        return validate(loads_json(raw.decode("utf-8")))

    return parse


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


def make_parser(hint: Any, text_limit: int | None = None) -> Parser:
    """Build the bytes -> value converter for one parameter type; with ``text_limit``, plain
    text is refused past that length or holding control or direction characters."""
    hint = _unwrap_optional(hint)
    if hint is inspect.Parameter.empty or hint is str or hint is Any:
        return _parse_str if text_limit is None else _strict_str(text_limit)
    if hint is bytes:
        return _parse_bytes
    if hint is bool:
        return _parse_bool
    if hint is int:
        return _parse_int
    if hint is float:
        return _parse_float
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
                raise ValueError(f"expected one of {allowed}, got {quote(text)}") from None

        return parse_enum
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return _json_parser(hint.model_validate)
    adapter: TypeAdapter[Any] = TypeAdapter(hint)
    return _json_parser(adapter.validate_python)


def convert_argument(param: Parameter, function: str, raw: bytes) -> Any:
    try:
        return param.parse(raw)
    except ValidationError as exc:
        raise ChaincodeError(
            f"argument {param.name!r} of {function} is not a valid {_type_name(param.hint)}: "
            f"{_validation_text(exc)}",
            ARGUMENT_STATUS,
        ) from None
    except UnicodeDecodeError as exc:
        raise ChaincodeError(
            f"argument {param.name!r} of {function} is not UTF-8 (byte {exc.start})",
            ARGUMENT_STATUS,
        ) from None
    except ValueError as exc:  # strict.StrictInputError too
        raise ChaincodeError(
            f"argument {param.name!r} of {function} is not a valid {_type_name(param.hint)}: {exc}",
            ARGUMENT_STATUS,
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
