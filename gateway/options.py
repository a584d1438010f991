"""Call options shared by the async core and the sync facade."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """Per-call deadlines in seconds (None = no deadline).

    Defaults follow the Fabric samples: an evaluate should answer in seconds, endorsement runs
    chaincode on several peers, and the commit wait covers the orderer's batch timeout plus
    validation of the block.
    """

    evaluate: float | None = 5.0
    endorse: float | None = 15.0
    submit: float | None = 5.0
    commit_status: float | None = 60.0
