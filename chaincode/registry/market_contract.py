"""The market's transactions: periods, offers, activations, series anchors, verification,
settlement. ``RegistryContract`` inherits them, so they read UVAMs in the same namespace.

Each is as thin as the registry's own: it hands a ``Tx`` to the module that checks and writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chaincode.runtime import Context, transaction

from . import activations, offers, periods, series, settlement, verification
from .ledger import Tx

T = TypeVar("T")
Record = dict[str, Any]
Page = dict[str, Any]


class MarketTransactions:
    """Bidding, activation, verification and settlement (docs/market.md)."""

    if TYPE_CHECKING:

        def _run(self, ctx: Context, work: Callable[[Tx], T]) -> T: ...

        def _json(
            self,
            ctx: Context,
            function: str,
            argument: str,
            raw: bytes,
            work: Callable[[Tx, Record], T],
        ) -> T: ...

    # --- market periods (the TSO) -------------------------------------------------------------

    @transaction()
    def OpenMarketPeriod(self, ctx: Context, period: bytes) -> Record:
        return self._json(ctx, "OpenMarketPeriod", "period", period, periods.open_period)

    @transaction()
    def MoveMarketGate(self, ctx: Context, periodId: str, gate: bytes) -> Record:
        return self._json(
            ctx, "MoveMarketGate", "gate", gate, lambda tx, d: periods.move_gate(tx, periodId, d)
        )

    @transaction()
    def AdvanceMarketClock(self, ctx: Context, periodId: str, clock: bytes) -> Record:
        return self._json(
            ctx,
            "AdvanceMarketClock",
            "clock",
            clock,
            lambda tx, d: periods.advance_clock(tx, periodId, d),
        )

    @transaction(evaluate=True)
    def ReadMarketPeriod(self, ctx: Context, periodId: str) -> Record:
        return self._run(ctx, lambda tx: periods.read(tx, periodId))

    @transaction(evaluate=True)
    def ListMarketPeriods(self, ctx: Context, pageSize: int, bookmark: str = "") -> Page:
        return self._run(ctx, lambda tx: periods.list_page(tx, pageSize, bookmark))

    # --- offers --------------------------------------------------------------------------------

    @transaction()
    def SubmitOffer(self, ctx: Context, offer: bytes) -> Record:
        """The price travels as the transient field 'price'; the result omits it."""
        return self._json(ctx, "SubmitOffer", "offer", offer, offers.submit)

    @transaction()
    def UpdateOfferStatus(self, ctx: Context, update: bytes) -> Record:
        return self._json(ctx, "UpdateOfferStatus", "update", update, offers.update_status)

    @transaction(evaluate=True)
    def ReadOffer(self, ctx: Context, offerId: str) -> Record:
        return self._run(ctx, lambda tx: offers.read(tx, offerId))

    @transaction(evaluate=True)
    def ReadOfferPrice(self, ctx: Context, offerId: str) -> Record:
        return self._run(ctx, lambda tx: offers.price(tx, offerId))

    @transaction(evaluate=True)
    def ListOffersByPeriod(
        self, ctx: Context, periodId: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(ctx, lambda tx: offers.list_by_period(tx, periodId, pageSize, bookmark))

    # --- activations ---------------------------------------------------------------------------

    @transaction()
    def SendActivation(self, ctx: Context, activation: bytes) -> Record:
        return self._json(ctx, "SendActivation", "activation", activation, activations.send)

    @transaction()
    def AcknowledgeActivation(self, ctx: Context, activationId: str) -> Record:
        return self._run(ctx, lambda tx: activations.acknowledge(tx, activationId))

    @transaction()
    def VerifyActivation(self, ctx: Context, activationId: str) -> Record:
        return self._run(ctx, lambda tx: verification.verify(tx, activationId))

    @transaction(evaluate=True)
    def ReadActivation(self, ctx: Context, activationId: str) -> Record:
        return self._run(ctx, lambda tx: activations.read(tx, activationId))

    @transaction(evaluate=True)
    def ListActivationsByPeriod(
        self, ctx: Context, periodId: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(
            ctx, lambda tx: activations.list_by_period(tx, periodId, pageSize, bookmark)
        )

    # --- measurement series --------------------------------------------------------------------

    @transaction()
    def AnchorSeries(self, ctx: Context, series: bytes) -> Record:
        return self._json(ctx, "AnchorSeries", "series", series, _anchor)

    @transaction(evaluate=True)
    def ReadSeries(self, ctx: Context, seriesId: str) -> Record:
        return self._run(ctx, lambda tx: _read_series(tx, seriesId))

    @transaction(evaluate=True)
    def ListSeriesByUvam(
        self, ctx: Context, periodId: str, uvamId: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(
            ctx, lambda tx: series.list_by_uvam(tx, periodId, uvamId, pageSize, bookmark)
        )

    # --- settlement ----------------------------------------------------------------------------

    @transaction()
    def IssueStatement(self, ctx: Context, statement: bytes) -> Record:
        """Settles the period's verified activations; the result omits the amounts."""
        return self._json(ctx, "IssueStatement", "statement", statement, settlement.issue)

    @transaction(evaluate=True)
    def ReadStatement(self, ctx: Context, statementId: str) -> Record:
        return self._run(ctx, lambda tx: settlement.read(tx, statementId))


# a parameter named like the module would shadow it inside the transaction
_anchor = series.anchor
_read_series = series.read
