"""Refusals a contract raises when the caller's request is at fault, each saying whose fault.

::

    Refusal                       a user-caused refusal; nothing was written
    ├── InvalidArgument           malformed JSON, missing field, bad code or value   (HTTP 422)
    ├── Forbidden                 not admitted, wrong owner, wrong role              (HTTP 403)
    ├── NotFound                  unknown participant, resource, trade, ...          (HTTP 404)
    ├── AlreadyExists             duplicate id                                       (HTTP 409)
    └── WrongState                the lifecycle does not allow it now                (HTTP 409)

A contract turns every ``Refusal`` into the runtime's ``ChaincodeError`` at one boundary. The
message starts with the category and a colon (``WrongState: POD ... is UnderReview; ...``)
because the message is all a client sees through Fabric's gateway; the connector maps the
category to its HTTP status. A chaincode may add categories of its own (a subclass).
"""

from __future__ import annotations

__all__ = ["AlreadyExists", "Forbidden", "InvalidArgument", "NotFound", "Refusal", "WrongState"]


class Refusal(Exception):
    """A refusal caused by the caller's request; the transaction writes nothing."""

    category = "Refusal"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.category}: {self.message}"


class InvalidArgument(Refusal):
    category = "InvalidArgument"
    status = 422


class Forbidden(Refusal):
    category = "Forbidden"
    status = 403


class NotFound(Refusal):
    category = "NotFound"
    status = 404


class AlreadyExists(Refusal):
    category = "AlreadyExists"
    status = 409


class WrongState(Refusal):
    category = "WrongState"
    status = 409
