"""Composite keys, laid out as Fabric's shims lay them out.

A composite key is ``\\x00 objectType \\x00 attr1 \\x00 attr2 \\x00``: the leading U+0000 puts
every composite key in a namespace of its own, apart from simple keys, so range queries over
simple keys never see them.
"""

from __future__ import annotations

from .errors import ChaincodeError
from .strict import quote

__all__ = [
    "COMPOSITE_KEY_NAMESPACE",
    "create_composite_key",
    "partial_composite_key_range",
    "split_composite_key",
    "validate_simple_key",
]

COMPOSITE_KEY_NAMESPACE = "\x00"
_MIN_RUNE = "\x00"
_MAX_RUNE = "\U0010ffff"
# Fabric's shims use U+0001 for an empty start key: "" would mean "from the composite namespace".
EMPTY_KEY_SUBSTITUTE = "\x01"


def _validate_attribute(value: str) -> None:
    if _MIN_RUNE in value or _MAX_RUNE in value:
        raise ChaincodeError(
            f"composite key attribute {quote(value)} contains U+0000 or U+10FFFF, "
            "which are reserved as composite key delimiters",
            400,
        )


def create_composite_key(object_type: str, attributes: list[str] | tuple[str, ...]) -> str:
    _validate_attribute(object_type)
    parts = [COMPOSITE_KEY_NAMESPACE, object_type, _MIN_RUNE]
    for attribute in attributes:
        _validate_attribute(attribute)
        parts.append(attribute)
        parts.append(_MIN_RUNE)
    return "".join(parts)


def split_composite_key(key: str) -> tuple[str, list[str]]:
    if not key.startswith(COMPOSITE_KEY_NAMESPACE):
        raise ChaincodeError(
            f"key {quote(key)} is not a composite key: it must start with U+0000", 400
        )
    components = key[1:].split(_MIN_RUNE)
    # the key ends with a delimiter, so the last component is always empty
    if components and components[-1] == "":
        components.pop()
    if not components:
        raise ChaincodeError(f"composite key {quote(key)} has no object type", 400)
    return components[0], components[1:]


def partial_composite_key_range(
    object_type: str, attributes: list[str] | tuple[str, ...]
) -> tuple[str, str]:
    start = create_composite_key(object_type, attributes)
    return start, start + _MAX_RUNE


def validate_simple_key(key: str) -> None:
    if key.startswith(COMPOSITE_KEY_NAMESPACE):
        raise ChaincodeError(
            f"key {quote(key)} starts with U+0000, which is reserved for composite keys", 400
        )
