"""Errors the registry raises: the chaincode runtime's refusals (``chaincode.runtime.refusals``:
InvalidArgument 422, Forbidden 403, NotFound 404, AlreadyExists and WrongState 409), each
saying whose fault it was. ``RegistryError`` is their common base, which the contract turns
into a ``ChaincodeError`` at one boundary."""

from __future__ import annotations

from chaincode.runtime.refusals import (
    AlreadyExists,
    Forbidden,
    InvalidArgument,
    NotFound,
    WrongState,
)
from chaincode.runtime.refusals import Refusal as RegistryError

__all__ = [
    "AlreadyExists",
    "Forbidden",
    "InvalidArgument",
    "NotFound",
    "RegistryError",
    "WrongState",
]
