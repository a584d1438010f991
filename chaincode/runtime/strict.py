"""Bounds on hostile input that every contract's arguments get, whatever the contract checks.

- ``loads_json``: a JSON argument nested at most ``MAX_DEPTH`` levels, integers of at most
  ``MAX_INT_DIGITS`` digits, finite numbers, no key given twice, and no control or
  direction-override character in a key or a string (tab, line feed and carriage return are
  allowed inside string values, which may be free text).
- ``check_text``: the same characters refused in a plain-text argument (an id, a name).
- ``quote``: a value as an error message may repeat it: escaped, and cut to ``limit``
  characters, so that a 5,000-character id does not come back 5,000 characters long.

Each refusal is a ``StrictInputError`` naming where it was found (``field
'confirmations[3].tradeId'``); contracts wrap it in their own "invalid argument" error.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hardening.logs import escape  # the logs' escaping, for messages that quote input

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "StrictInputError",
    "check_text",
    "escape",
    "loads_json",
    "quote",
    "shorten",
]

MAX_DEPTH = 32  # no request of ours nests more than 4 levels
MAX_INT_DIGITS = 18  # every integer fits int64 (Fabric's and the connector's databases)
MAX_NUMBER_CHARS = 40  # a float written longer than this is not a measurement

# C0 controls but tab, LF, CR; DEL; C1 controls; the Unicode bidirectional formatting
# characters (LRM, RLM, ALM, LRE..RLO, LRI..PDI), the line and paragraph separators, the
# zero-width space and the byte order mark: each can make text read differently from what it is.
_BIDI_AND_FRIENDS = "\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
_UNSAFE_IN_VALUES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_AND_FRIENDS}]")
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_FRIENDS}]")
_NAMES = {
    "\t": "a tab",
    "\n": "a line feed",
    "\r": "a carriage return",
    "\x00": "a NUL",
    "\u202e": "a right-to-left override",
    "\u202d": "a left-to-right override",
    "\u2066": "a left-to-right isolate",
    "\u2067": "a right-to-left isolate",
    "\u200b": "a zero-width space",
    "\ufeff": "a byte order mark",
}


class StrictInputError(ValueError):
    """An argument breaks one of the bounds above; the message says where and which."""


def _describe_char(ch: str) -> str:
    name = _NAMES.get(ch)
    if name is None:
        name = "a direction or format character" if ord(ch) > 0x9F else "a control character"
    return f"{name} (U+{ord(ch):04X})"


def shorten(value: object, limit: int = 64) -> str:
    """``value`` as an error message may show it: escaped and cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"{escape(text[:limit])}… ({len(text)} characters)"
    return escape(text)


def quote(value: object, limit: int = 64) -> str:
    """``value`` quoted for an error message: escaped and cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"'{escape(text[:limit])}…' ({len(text)} characters)"
    return f"'{escape(text)}'"


def check_text(value: str, where: str, *, multiline: bool = False) -> str:
    """Refuse control and direction characters in ``value`` (tab/LF/CR too unless multiline)."""
    found = (_UNSAFE_IN_VALUES if multiline else _UNSAFE_IN_TEXT).search(value)
    if found is not None:
        raise StrictInputError(
            f"{where} holds {_describe_char(found.group())} at position {found.start()}"
        )
    return value


class _Refused:
    """A number the parser met and refused; the walk after parsing says where it was."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _parse_int(text: str) -> int | _Refused:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INT_DIGITS:
        return _Refused(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused(f"a number written in {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"the number {text[:MAX_NUMBER_CHARS]} beyond a float's range")
    return value


def _parse_constant(text: str) -> _Refused:
    return _Refused(f"{text}, which is not a JSON number")


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _path(parent: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{parent}[{step}]"
    return f"{parent}.{step}" if parent else step


def _field(path: str) -> str:
    return f"field '{path}'" if path else "the value"


def loads_json(text: str) -> Any:
    """Decode ``text`` as JSON within the bounds above, or raise ``StrictInputError``."""
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_pairs,
        )
    except _Duplicate as dup:
        raise StrictInputError(f"key {quote(dup.key)} appears twice in one object") from None
    except RecursionError:
        raise StrictInputError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    _walk(value)
    return value


def _walk(root: Any) -> None:
    """Depth, refused numbers and unsafe characters, iteratively (a deep value must not
    exhaust the stack that checks it)."""
    stack: list[tuple[Any, str, int]] = [(root, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            check_text(value, _field(path), multiline=True)
        elif isinstance(value, _Refused):
            raise StrictInputError(f"{_field(path)} holds {value.why}")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise StrictInputError(
                    f"JSON nested deeper than {MAX_DEPTH} levels at {_field(path)}"
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    check_text(key, f"a key of {_field(path)}")
                    stack.append((item, _path(path, key), depth + 1))
            else:
                for i, item in enumerate(value):
                    stack.append((item, _path(path, i), depth + 1))
