"""Errors the trading chaincode raises, each saying whose fault it was.

::

    TradingError                  a user-caused refusal; nothing was written
    ├── InvalidArgument           malformed JSON, missing field, bad number or id     (HTTP 422)
    ├── Forbidden                 not the operator, not the EV's owner               (HTTP 403)
    ├── NotFound                  unknown EV, trade, batch, parameters              (HTTP 404)
    ├── AlreadyExists             duplicate trade or batch id                        (HTTP 409)
    ├── WrongState                not Pending, not a seller, declared under old parameters (409)
    └── InsufficientEnergy        more than the buyer needs or the seller has left   (HTTP 409)

The contract turns every ``TradingError`` into the runtime's ``ChaincodeError`` at one boundary.
The message starts with the category and a colon (``InsufficientEnergy: trade T1: ...``)
because the message is all a client sees through Fabric's gateway; the connector maps the
category to its HTTP status. The categories are the registry's, plus InsufficientEnergy.
"""

from __future__ import annotations


class TradingError(Exception):
    """A refusal caused by the caller's request; the transaction writes nothing."""

    category = "TradingError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.category}: {self.message}"


class InvalidArgument(TradingError):
    category = "InvalidArgument"
    status = 422


class Forbidden(TradingError):
    category = "Forbidden"
    status = 403


class NotFound(TradingError):
    category = "NotFound"
    status = 404


class AlreadyExists(TradingError):
    category = "AlreadyExists"
    status = 409


class WrongState(TradingError):
    category = "WrongState"
    status = 409


class InsufficientEnergy(TradingError):
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
