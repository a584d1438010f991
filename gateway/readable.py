"""Ledger bytes as an auditor can read them: text where they are text, decoded where Fabric
defines them, hex otherwise; never raw control characters on a terminal (pure).

Chaincode arguments and written values are bytes. Most of this project's are UTF-8 JSON or
plain strings; Fabric's own `_lifecycle` system chaincode takes and writes protobuf messages,
which are decoded here into compact JSON (bytes inside them as hex).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fabric_protos.common import policies_pb2
from fabric_protos.peer import policy_pb2
from fabric_protos.peer.lifecycle import db_pb2, lifecycle_pb2
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from gateway.channel_config import signature_policy_text

LIFECYCLE = "_lifecycle"

__all__ = [
    "LIFECYCLE",
    "describe_args",
    "describe_bytes",
    "describe_write",
    "printable",
]


def printable(value: bytes) -> str | None:
    """The text of `value` if it is UTF-8 without control characters, else None."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def describe_bytes(value: bytes) -> str:
    """Text as it is; anything else as `0x` and its hex digits."""
    text = printable(value)
    return text if text is not None else "0x" + value.hex()


def _application_policy(raw: bytes) -> str:
    policy = _parse(policy_pb2.ApplicationPolicy, raw)
    if policy is None:
        return describe_bytes(raw)
    if policy.WhichOneof("Type") == "signature_policy":
        return signature_policy_text(policy.signature_policy)
    return f"channel policy {policy.channel_config_policy_reference}"


def _to_json(message: Message) -> dict[str, Any]:
    doc: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return doc


def _hex_bytes(doc: Any, message: Message) -> Any:
    """MessageToDict writes bytes as base64; an auditor compares hashes and ids in hex."""
    if not isinstance(doc, dict):
        return doc
    out: dict[str, Any] = {}
    for name, value in doc.items():
        field = message.DESCRIPTOR.fields_by_name.get(name)
        if name == "validation_parameter" and isinstance(value, str):
            out[name] = _application_policy(base64.b64decode(value))
        elif (
            field is not None
            and field.message_type is policies_pb2.SignaturePolicyEnvelope.DESCRIPTOR
        ):
            out[name] = signature_policy_text(getattr(message, name))
        elif field is not None and field.type == field.TYPE_BYTES and isinstance(value, str):
            out[name] = describe_bytes(base64.b64decode(value))
        elif field is not None and field.message_type is not None:
            inner = getattr(message, name)
            if isinstance(value, list):
                out[name] = [_hex_bytes(v, m) for v, m in zip(value, inner, strict=False)]
            else:
                out[name] = _hex_bytes(value, inner)
        else:
            out[name] = value
    return out


def _render(message: Message) -> str:
    doc = _hex_bytes(_to_json(message), message)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _parse(cls: type[Message], data: bytes) -> Message | None:
    message = cls()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return None
    return message


def _lifecycle_args(function: str, arg: bytes) -> str | None:
    cls = getattr(lifecycle_pb2, f"{function}Args", None)
    message = _parse(cls, arg) if cls is not None else None
    if message is None:
        return None
    return _render(message)


def describe_args(chaincode: str, function: str, args: tuple[bytes, ...]) -> tuple[str, ...]:
    """Each argument of a chaincode call, readable (see the module's docstring)."""
    if chaincode == LIFECYCLE and len(args) == 1:
        decoded = _lifecycle_args(function, args[0])
        if decoded is not None:
            return (decoded,)
    return tuple(describe_bytes(a) for a in args)


def _lifecycle_value(key: str, value: bytes) -> str | None:
    parts = key.split("/")
    if parts[:2] == ["namespaces", "metadata"]:
        cls: type[Message] = db_pb2.StateMetadata
    elif parts[:2] == ["namespaces", "fields"] and parts[-1] == "Definition":
        # the embedded engine records a definition in one key (see network/embedded/README.md)
        cls = lifecycle_pb2.QueryChaincodeDefinitionResult
    elif parts[:2] == ["namespaces", "fields"]:
        cls = db_pb2.StateData
    else:
        return None
    message = _parse(cls, value)
    return _render(message) if message is not None else None


def describe_write(namespace: str, key: str, value: bytes) -> str:
    """A written value, readable (see the module's docstring)."""
    if namespace == LIFECYCLE:
        decoded = _lifecycle_value(key, value)
        if decoded is not None:
            return decoded
    return describe_bytes(value)
