"""A chaincode (and optionally one named contract in it) on a channel: the sync facade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateway import aio
from gateway._loop import LoopThread
from gateway.flow import Proposal
from gateway.options import Timeouts
from gateway.proposal import Arg


class Contract:
    """`evaluate_transaction`, `submit_transaction`, or `new_proposal` for the step by step flow.

    Arguments and transient values are `str` (sent as UTF-8) or `bytes`.
    """

    def __init__(self, loop: LoopThread, inner: aio.Contract) -> None:
        self._loop = loop
        self._inner = inner

    @property
    def chaincode_name(self) -> str:
        return self._inner.chaincode_name

    @property
    def contract_name(self) -> str | None:
        return self._inner.contract_name

    def new_proposal(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] = (),
    ) -> Proposal:
        inner = self._inner.new_proposal(
            transaction_name,
            *args,
            transient=transient,
            endorsing_organizations=endorsing_organizations,
        )
        return Proposal(self._loop, inner)

    def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] = (),
        timeout: float | None = None,
    ) -> bytes:
        """Run a read-only transaction on a peer and return its result (nothing is recorded)."""
        return self._loop.run(
            self._inner.evaluate_transaction(
                transaction_name,
                *args,
                transient=transient,
                endorsing_organizations=endorsing_organizations,
                timeout=timeout,
            )
        )

    def submit_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] = (),
        timeouts: Timeouts | None = None,
    ) -> bytes:
        """Endorse, submit, wait for commit; the result once committed valid, else an error."""
        return self._loop.run(
            self._inner.submit_transaction(
                transaction_name,
                *args,
                transient=transient,
                endorsing_organizations=endorsing_organizations,
                timeouts=timeouts,
            )
        )
