"""Fabric's `_lifecycle` serializer (`core/chaincode/lifecycle/serializer.go`), key for key.

A structure is stored as one key per field, `<prefix>/fields/<name>/<Field>` holding a
`lifecycle.StateData` (Int64, Bytes or String), and one metadata key `<prefix>/metadata/<name>`
holding a `lifecycle.StateMetadata` (type name, field names). A field whose encoded value is
unchanged is not written again, and metadata is written only when it changes, so a
transaction's write set is exactly the one a Fabric peer computes. `is_serialized` compares
SHA-256 hashes only: it is how one org checks another org's private approval from the hashes
every peer holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from fabric_protos.peer.lifecycle import db_pb2

FieldValue = int | bytes | str


class LifecycleStateError(ValueError):
    """A `_lifecycle` key does not hold what its metadata says (Fabric's wording)."""


class ReadableState(Protocol):
    def get_state(self, key: str) -> bytes | None: ...


class ReadWritableState(ReadableState, Protocol):
    def put_state(self, key: str, value: bytes) -> None: ...

    def del_state(self, key: str) -> None: ...


class OpaqueState(Protocol):
    """An org's implicit collection seen through hashes only."""

    collection: str

    def get_state_hash(self, key: str) -> bytes | None: ...


class RangeableState(Protocol):
    def get_state_range(self, prefix: str) -> dict[str, bytes]: ...


@dataclass(frozen=True)
class Structure:
    """A Go struct as the serializer sees it: its type name and its fields in order.

    Values are int (Go int64), str (Go string) or bytes (Go []byte and proto fields, already
    marshalled; a nil proto is b"")."""

    type_name: str
    fields: tuple[tuple[str, FieldValue], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.fields]


def metadata_key(prefix: str, name: str) -> str:
    return f"{prefix}/metadata/{name}"


def field_key(prefix: str, name: str, field: str) -> str:
    return f"{prefix}/fields/{name}/{field}"


def encode_field(value: FieldValue) -> bytes:
    if isinstance(value, bool):  # bool is an int to Python, never a field kind here
        raise TypeError("boolean fields are not serializable")
    if isinstance(value, int):
        return db_pb2.StateData(Int64=value).SerializeToString()  # type: ignore[no-any-return]
    if isinstance(value, str):
        return db_pb2.StateData(String=value).SerializeToString()  # type: ignore[no-any-return]
    return db_pb2.StateData(Bytes=value).SerializeToString()  # type: ignore[no-any-return]


def encode_metadata(structure: Structure) -> bytes:
    return db_pb2.StateMetadata(  # type: ignore[no-any-return]
        datatype=structure.type_name, fields=structure.names
    ).SerializeToString()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def deserialize_metadata(
    prefix: str, name: str, state: ReadableState
) -> db_pb2.StateMetadata | None:
    raw = state.get_state(metadata_key(prefix, name))
    if not raw:
        return None
    try:
        return db_pb2.StateMetadata.FromString(raw)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise LifecycleStateError(
            f"could not unmarshal metadata for namespace {prefix}/{name}: {exc}"
        ) from None


def serialize(prefix: str, name: str, structure: Structure, state: ReadWritableState) -> None:
    """Write `structure` under `name`: changed fields, metadata if it changed, and deletes of
    fields the previous structure had and this one has not (Fabric's `Serialize`)."""
    metadata = deserialize_metadata(prefix, name, state) or db_pb2.StateMetadata()
    existing: dict[str, bytes | None] = {}
    for old in metadata.fields:
        key = field_key(prefix, name, old)
        existing[key] = state.get_state(key)
    for field, value in structure.fields:
        key = field_key(prefix, name, field)
        encoded = encode_field(value)
        if key not in existing or existing[key] != encoded:
            state.put_state(key, encoded)
        existing.pop(key, None)
    if (
        existing
        or structure.type_name != metadata.datatype
        or len(metadata.fields) != len(structure.fields)
    ):
        state.put_state(metadata_key(prefix, name), encode_metadata(structure))
    for key in existing:  # Go ranges over a map here; the rwset is sorted by key anyway
        state.del_state(key)


def deserialize_field(prefix: str, name: str, field: str, state: ReadableState) -> db_pb2.StateData:
    key = field_key(prefix, name, field)
    raw = state.get_state(key) or b""
    try:
        return db_pb2.StateData.FromString(raw)
    except Exception as exc:  # noqa: BLE001
        raise LifecycleStateError(f"could not unmarshal state for key {key}: {exc}") from None


def field_as_int(prefix: str, name: str, field: str, state: ReadableState) -> int:
    data = deserialize_field(prefix, name, field, state)
    kind = data.WhichOneof("Type")
    if kind is None:
        return 0
    if kind != "Int64":
        raise LifecycleStateError(
            f"expected key {field_key(prefix, name, field)} to encode a value of type Int64, "
            f"but was {kind}"
        )
    return int(data.Int64)


def field_as_bytes(prefix: str, name: str, field: str, state: ReadableState) -> bytes:
    data = deserialize_field(prefix, name, field, state)
    kind = data.WhichOneof("Type")
    if kind is None:
        return b""
    if kind != "Bytes":
        raise LifecycleStateError(
            f"expected key {field_key(prefix, name, field)} to encode a value of type []byte, "
            f"but was {kind}"
        )
    return bytes(data.Bytes)


def field_as_string(prefix: str, name: str, field: str, state: ReadableState) -> str:
    data = deserialize_field(prefix, name, field, state)
    kind = data.WhichOneof("Type")
    if kind is None:
        return ""
    if kind != "String":
        raise LifecycleStateError(
            f"expected key {prefix}/fields/{name}/{field} to encode a value of type String, "
            f"but was {kind}"
        )
    return str(data.String)


def deserialize(
    prefix: str,
    name: str,
    metadata: db_pb2.StateMetadata,
    template: Structure,
    state: ReadableState,
) -> dict[str, FieldValue]:
    """The fields of `template`'s type read back (each field read, in order, as Fabric does)."""
    if template.type_name != metadata.datatype:
        raise LifecycleStateError(
            f"type name mismatch '{template.type_name}' != '{metadata.datatype}'"
        )
    out: dict[str, FieldValue] = {}
    for field, kind in template.fields:
        if isinstance(kind, int):
            out[field] = field_as_int(prefix, name, field, state)
        elif isinstance(kind, str):
            out[field] = field_as_string(prefix, name, field, state)
        else:
            out[field] = field_as_bytes(prefix, name, field, state)
    return out


def is_metadata_serialized(prefix: str, name: str, template: Structure, state: OpaqueState) -> bool:
    existing = state.get_state_hash(metadata_key(prefix, name))
    return existing == _sha256(encode_metadata(template))


def is_serialized(
    prefix: str, name: str, structure: Structure, state: OpaqueState
) -> tuple[bool, list[str]]:
    """Whether the hashes under `name` are those of `structure`; else the mismatched fields
    (the type name when the metadata itself differs), as Fabric's `IsSerialized`."""
    existing = {metadata_key(prefix, name): state.get_state_hash(metadata_key(prefix, name))}
    for field, _ in structure.fields:
        key = field_key(prefix, name, field)
        existing[key] = state.get_state_hash(key)
    if existing[metadata_key(prefix, name)] != _sha256(encode_metadata(structure)):
        return False, [structure.type_name]
    mismatches = [
        field
        for field, value in structure.fields
        if existing[field_key(prefix, name, field)] != _sha256(encode_field(value))
    ]
    return not mismatches, mismatches


def all_metadata(prefix: str, state: RangeableState) -> dict[str, db_pb2.StateMetadata]:
    start = f"{prefix}/metadata/"
    out: dict[str, db_pb2.StateMetadata] = {}
    for key, raw in state.get_state_range(start).items():
        try:
            out[key[len(start) :]] = db_pb2.StateMetadata.FromString(raw)
        except Exception as exc:  # noqa: BLE001
            raise LifecycleStateError(
                f"error unmarshalling metadata for key {key}: {exc}"
            ) from None
    return out
