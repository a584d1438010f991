"""The connector's one door to the ledger: its organisation's chaincode (the registry, or the
P2P market) through Fabric's Gateway API.

Every gateway error is translated here, once, into what the connector's callers decide on:

    LedgerError
    ├── LedgerRefused       the chaincode refused (its status and message, verbatim): final
    ├── LedgerInvalid       committed but invalidated (MVCC_READ_CONFLICT...): maybe retry
    ├── LedgerUnavailable   the peer cannot be reached: retry later, nothing happened
    ├── LedgerTimeout       no answer in time: the outcome of a write is unknown, ask again
    └── LedgerOutcomeUnknown  submitted, but the commit status could not be read

A write is prepared (its proposal built and its transaction id fixed) without any I/O, so the
caller can store it before the first attempt and ask the ledger about that id after a crash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from connector.org import OrgContext
from gateway import (
    CommitStatusError,
    EndorseError,
    GatewayClientError,
    GatewayError,
    SubmitError,
)
from gateway.aio import Gateway, from_profile
from gateway.checkpoint import Checkpoint
from gateway.events import ChaincodeEvent
from gateway.ledger import TransactionRecord
from gateway.options import Timeouts
from gateway.proposal import TransactionContext

log = logging.getLogger(__name__)

_CHAINCODE_RESPONSE = re.compile(r"chaincode response (\d{3}), (.*)")
_MVCC_RETRYABLE = {"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"}


class LedgerError(Exception):
    """Base of what the connector's ledger door raises."""


class LedgerRefused(LedgerError):
    """The chaincode refused the call; `status` is its HTTP-like status (422, 403, 404, 409)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        self.code = message.split(":", 1)[0] if ":" in message else "Refused"
        super().__init__(message)


class LedgerInvalid(LedgerError):
    """The transaction reached a block but validation marked it invalid."""

    def __init__(self, tx_id: str, code: str, block_number: int) -> None:
        self.tx_id, self.code, self.block_number = tx_id, code, block_number
        super().__init__(f"transaction {tx_id} was invalidated in block {block_number}: {code}")

    @property
    def retryable(self) -> bool:
        return self.code in _MVCC_RETRYABLE


class LedgerUnavailable(LedgerError):
    """The gateway peer cannot be reached."""


class LedgerTimeout(LedgerError):
    """The ledger did not answer in time."""


class LedgerOutcomeUnknown(LedgerError):
    """The transaction was sent to ordering but its outcome could not be read."""


@dataclass(frozen=True)
class PreparedWrite:
    """A chaincode transaction built and bound to its id, not yet sent."""

    tx_id: str
    proposal: bytes


@dataclass(frozen=True)
class Committed:
    tx_id: str
    block_number: int
    result: bytes


def refusal_of(exc: GatewayError) -> LedgerRefused | None:
    """The chaincode's own refusal inside a gateway error, if that is what it is."""
    for text in [d.message for d in exc.details] + [exc.message]:
        match = _CHAINCODE_RESPONSE.search(text)
        if match and 400 <= int(match.group(1)) < 500:
            return LedgerRefused(int(match.group(1)), match.group(2).strip())
    return None


def translate(exc: GatewayClientError, what: str) -> LedgerError:
    """The one mapping of gateway errors to the connector's ledger errors."""
    if isinstance(exc, GatewayError):
        refused = refusal_of(exc)
        if refused is not None:
            return refused
        if exc.code == "UNAVAILABLE":
            return LedgerUnavailable(f"the ledger is unreachable ({what}): {exc.message}")
        if exc.code == "DEADLINE_EXCEEDED":
            return LedgerTimeout(f"the ledger did not answer in time ({what})")
        if isinstance(exc, SubmitError | CommitStatusError):
            return LedgerOutcomeUnknown(f"{what}: {exc.message}")
        detail = "; ".join(d.message for d in exc.details) or exc.message
        return LedgerError(f"{what}: {detail}")
    return LedgerError(f"{what}: {exc}")


class Ledger:
    """Gateway connections of this organisation's Fabric users, opened on first use, to the one
    chaincode its role works with (`org.chaincode`)."""

    def __init__(self, org: OrgContext, timeout: float) -> None:
        self.org = org
        self.chaincode = org.chaincode
        self._timeouts = Timeouts(
            evaluate=timeout, endorse=timeout * 3, submit=timeout, commit_status=timeout * 6
        )
        self._gateways: dict[str, Gateway] = {}
        self._lock = asyncio.Lock()

    async def gateway(self, fabric_user: str) -> Gateway:
        gw = self._gateways.get(fabric_user)
        if gw is None:
            async with self._lock:
                gw = self._gateways.get(fabric_user)
                if gw is None:
                    gw = from_profile(
                        self.org.me.key,
                        fabric_user,
                        self.org.profile_path,
                        timeouts=self._timeouts,
                    )
                    self._gateways[fabric_user] = gw
        return gw

    async def enrollment_id(self, fabric_user: str) -> str:
        """The enrollment id the chaincode knows `fabric_user` by (its certificate's
        `hf.EnrollmentID`, as Fabric CA issues it): the owner of an EV user's EVs."""
        gw = await self.gateway(fabric_user)
        identity = gw.identity
        return identity.attributes.get("hf.EnrollmentID") or identity.common_name

    async def close(self) -> None:
        for gw in self._gateways.values():
            await gw.close()
        self._gateways.clear()

    # -- writes -----------------------------------------------------------------------------

    async def new_context(self, fabric_user: str) -> TransactionContext:
        """A fresh nonce for `fabric_user`: the transaction id is known from here on."""
        gw = await self.gateway(fabric_user)
        return TransactionContext.new(gw.identity.creator)

    async def prepare(
        self,
        fabric_user: str,
        channel: str,
        function: str,
        args: list[str],
        context: TransactionContext | None = None,
        transient: dict[str, str] | None = None,
    ) -> PreparedWrite:
        """``transient`` fields go in the proposal but never in the block (an offer's price)."""
        gw = await self.gateway(fabric_user)
        contract = gw.get_network(channel).get_contract(self.chaincode)
        proposal = contract.new_proposal(function, *args, transient=transient, context=context)
        return PreparedWrite(proposal.transaction_id, proposal.to_bytes())

    async def endorse(self, fabric_user: str, proposal: bytes) -> Any:
        """Run the transaction on the endorsing peers; returns the endorsed transaction."""
        gw = await self.gateway(fabric_user)
        try:
            return await gw.new_proposal(proposal).endorse()
        except EndorseError as exc:
            raise translate(exc, "endorsement") from exc
        except GatewayClientError as exc:
            raise translate(exc, "endorsement") from exc

    async def submit(self, endorsed: Any) -> Committed:
        """Order the endorsed transaction and wait for its block."""
        try:
            commit = await endorsed.submit()
            status = await commit.get_status()
        except GatewayClientError as exc:
            raise translate(exc, f"submission of {endorsed.transaction_id}") from exc
        if not status.successful:
            raise LedgerInvalid(status.transaction_id, status.code_name, status.block_number)
        return Committed(status.transaction_id, status.block_number, endorsed.result)

    async def find_transaction(
        self, fabric_user: str, channel: str, tx_id: str
    ) -> TransactionRecord | None:
        """The committed transaction with this id and its block, or None if no block holds it."""
        gw = await self.gateway(fabric_user)
        network = gw.get_network(channel)
        try:
            record = await network.get_transaction(tx_id)
            block = await network.get_block_by_transaction_id(tx_id)
            return dataclasses.replace(record, block_number=int(block.header.number))
        except GatewayError as exc:
            text = " ".join([exc.message, *(d.message for d in exc.details)]).lower()
            if "not found" in text or "failed to get transaction" in text:
                return None
            raise translate(exc, f"lookup of transaction {tx_id}") from exc
        except GatewayClientError as exc:
            raise translate(exc, f"lookup of transaction {tx_id}") from exc

    # -- reads ------------------------------------------------------------------------------

    async def evaluate(self, fabric_user: str, channel: str, function: str, *args: str) -> Any:
        """A chaincode query; the JSON result decoded."""
        gw = await self.gateway(fabric_user)
        contract = gw.get_network(channel).get_contract(self.chaincode)
        try:
            raw = await contract.evaluate_transaction(function, *args)
        except GatewayClientError as exc:
            raise translate(exc, f"{function} on {channel}") from exc
        return json.loads(raw) if raw else None

    async def height(self, fabric_user: str, channel: str) -> int:
        gw = await self.gateway(fabric_user)
        try:
            return (await gw.get_network(channel).get_chain_info()).height
        except GatewayClientError as exc:
            raise translate(exc, f"height of {channel}") from exc

    async def config_block(self, fabric_user: str, channel: str) -> Any:
        """The channel's latest configuration block: its members and their CAs."""
        gw = await self.gateway(fabric_user)
        try:
            return await gw.get_network(channel).get_config_block()
        except GatewayClientError as exc:
            raise translate(exc, f"configuration of {channel}") from exc

    async def sign(self, fabric_user: str, message: bytes) -> tuple[bytes, bytes]:
        """(certificate PEM, signature over `message`) of `fabric_user`, for a request to
        another organisation that does not go through the ledger."""
        gw = await self.gateway(fabric_user)
        return gw.identity.credentials, gw.sign_message(message)

    async def events(
        self, fabric_user: str, channel: str, checkpoint: Checkpoint | None
    ) -> AsyncIterator[ChaincodeEvent]:
        """The chaincode's events on `channel` from the checkpoint on, as they commit."""
        gw = await self.gateway(fabric_user)
        network = gw.get_network(channel)
        start = None if checkpoint is not None else 0
        try:
            stream = await network.chaincode_events(
                self.chaincode, start_block=start, checkpoint=checkpoint
            )
            async with stream:
                async for event in stream:
                    yield event
        except GatewayClientError as exc:
            raise translate(exc, f"events of {channel}") from exc
