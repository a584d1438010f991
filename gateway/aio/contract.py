"""A chaincode (and optionally one named contract in it) on a channel, async."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateway.aio.flow import Proposal
from gateway.aio.transport import GatewayTransport
from gateway.identity import SigningIdentity
from gateway.options import Timeouts
from gateway.proposal import (
    Arg,
    TransactionContext,
    build_proposed_transaction,
    qualified_name,
)


class Contract:
    """Cheap handle: `evaluate_transaction`, `submit_transaction`, or the fine-grained flow."""

    def __init__(
        self,
        transport: GatewayTransport,
        signing: SigningIdentity,
        channel: str,
        chaincode: str,
        contract_name: str | None,
        timeouts: Timeouts,
    ) -> None:
        self._transport = transport
        self._signing = signing
        self.channel = channel
        self.chaincode_name = chaincode
        self.contract_name = contract_name
        self._timeouts = timeouts

    def new_proposal(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] = (),
        context: TransactionContext | None = None,
    ) -> Proposal:
        """Build (but do not sign or send) a proposal for `transaction_name(*args)`.

        `context` fixes the nonce, hence the transaction id, in advance (from
        `TransactionContext.new(gateway.identity.creator)`): a caller that must know the id
        before it builds the arguments, or record it before the first attempt, passes one.
        """
        if context is None:
            context = TransactionContext.new(self._signing.creator)
        elif context.creator != self._signing.creator:
            raise ValueError("the transaction context was made for another identity")
        proposed = build_proposed_transaction(
            channel=self.channel,
            chaincode=self.chaincode_name,
            transaction_name=qualified_name(transaction_name, self.contract_name),
            context=context,
            args=args,
            transient=transient,
            endorsing_organizations=endorsing_organizations,
        )
        return Proposal(self._transport, self._signing, self.channel, proposed, self._timeouts)

    async def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] = (),
        timeout: float | None = None,
    ) -> bytes:
        """Run a read-only transaction on a peer and return its result."""
        proposal = self.new_proposal(
            transaction_name,
            *args,
            transient=transient,
            endorsing_organizations=endorsing_organizations,
        )
        return await proposal.evaluate(timeout=timeout)

    async def submit_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] = (),
        timeouts: Timeouts | None = None,
    ) -> bytes:
        """Endorse, submit and wait for commit; returns the result once committed as valid.

        Raises `EndorseError`, `SubmitError`, `CommitStatusError` (step that failed) or
        `CommitError` (committed but invalid, e.g. MVCC_READ_CONFLICT).
        """
        t = timeouts or self._timeouts
        proposal = self.new_proposal(
            transaction_name,
            *args,
            transient=transient,
            endorsing_organizations=endorsing_organizations,
        )
        transaction = await proposal.endorse(timeout=t.endorse)
        commit = await transaction.submit(timeout=t.submit)
        status = await commit.get_status(timeout=t.commit_status)
        status.raise_for_status()
        return transaction.result
