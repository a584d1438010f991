"""Commit status: the outcome of a submitted transaction, as its block recorded it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import CommitError, validation_code_name

VALID = 0


@dataclass(frozen=True)
class Status:
    """Where and how a transaction was committed.

    `code` is Fabric's `TxValidationCode` (0 VALID, 11 MVCC_READ_CONFLICT, 10
    ENDORSEMENT_POLICY_FAILURE, ...); `code_name` is its name.
    """

    transaction_id: str
    code: int
    block_number: int

    @property
    def code_name(self) -> str:
        return validation_code_name(self.code)

    @property
    def successful(self) -> bool:
        return self.code == VALID

    def raise_for_status(self) -> None:
        """Raise `CommitError` unless the transaction was committed as valid."""
        if not self.successful:
            raise CommitError(self.transaction_id, self.code, self.block_number)


def status_from_response(transaction_id: str, response: Any) -> Status:
    """A `Status` from a `gateway.CommitStatusResponse`."""
    return Status(
        transaction_id=transaction_id,
        code=int(response.result),
        block_number=int(response.block_number),
    )
