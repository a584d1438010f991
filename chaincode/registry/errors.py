"""Errors the registry raises, each saying whose fault it was.

::

    RegistryError                 a user-caused refusal; nothing was written
    ├── InvalidArgument           malformed JSON, missing field, bad code or value   (HTTP 422)
    ├── Forbidden                 not admitted, wrong owner, wrong role              (HTTP 403)
    ├── NotFound                  unknown participant, POD, UVAM, ...                (HTTP 404)
    ├── AlreadyExists             duplicate id                                       (HTTP 409)
    └── WrongState                the lifecycle does not allow it now                (HTTP 409)

The contract layer turns every ``RegistryError`` into the runtime's ``ChaincodeError`` at one
boundary. The message starts with the category name and a colon (``WrongState: POD ... is
UnderReview; information can change only while Open``) because the message is all a client
sees through Fabric's gateway; the connector maps the category to its HTTP status.
"""

from __future__ import annotations


class RegistryError(Exception):
    """A refusal caused by the caller's request; the transaction writes nothing."""

    category = "RegistryError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.category}: {self.message}"


class InvalidArgument(RegistryError):
    category = "InvalidArgument"
    status = 422


class Forbidden(RegistryError):
    category = "Forbidden"
    status = 403


class NotFound(RegistryError):
    category = "NotFound"
    status = 404


class AlreadyExists(RegistryError):
    category = "AlreadyExists"
    status = 409


class WrongState(RegistryError):
    category = "WrongState"
    status = 409


__all__ = [
    "AlreadyExists",
    "Forbidden",
    "InvalidArgument",
    "NotFound",
    "RegistryError",
    "WrongState",
]
