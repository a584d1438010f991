"""Errors the trading chaincode raises: the chaincode runtime's refusals
(``chaincode.runtime.refusals``: InvalidArgument 422, Forbidden 403, NotFound 404,
AlreadyExists and WrongState 409) and one of its own, InsufficientEnergy (409: more than the
buyer needs or the seller has left). ``TradingError`` is their common base, which the contract
turns into a ``ChaincodeError`` at one boundary."""

from __future__ import annotations

from chaincode.runtime.refusals import (
    AlreadyExists,
    Forbidden,
    InvalidArgument,
    NotFound,
    Refusal,
    WrongState,
)

TradingError = Refusal


class InsufficientEnergy(Refusal):
    category = "InsufficientEnergy"
    status = 409


__all__ = [
    "AlreadyExists",
    "Forbidden",
    "InsufficientEnergy",
    "InvalidArgument",
    "NotFound",
    "TradingError",
    "WrongState",
]
