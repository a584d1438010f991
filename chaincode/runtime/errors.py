"""Errors of the chaincode runtime.

::

    ChaincodeError            a transaction failed; the peer gets status 500 and the message
    └── PeerError             the peer answered a stub request with ERROR (or the stream broke)
    ProtocolError             the peer broke the chaincode protocol; the stream is closed

Contract code raises ``ChaincodeError`` (or any exception): the transaction ends at once with
an error response carrying the message, never a hang.
"""

from __future__ import annotations

__all__ = ["ChaincodeError", "PeerError", "ProtocolError"]


class ChaincodeError(Exception):
    """A transaction refused or failed; ``status`` is what the peer sees (400-599)."""

    def __init__(self, message: str, status: int = 500) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"ChaincodeError status {status} must be an error status (400-599)")
        super().__init__(message)
        self.message = message
        self.status = status


class PeerError(ChaincodeError):
    """The peer refused a stub request (e.g. GET_STATE on a collection the org cannot read)."""


class ProtocolError(Exception):
    """A message the handler cannot accept in its current state; the stream ends."""
