"""TradingContract: the P2P market's transactions on the chaincode runtime.

Each transaction is thin: it builds a ``Tx`` from the context (the caller as its certificate
says, the channel's parties), hands it to the module that checks and writes, sets the one
chaincode event, and turns a ``TradingError`` into ``ChaincodeError`` with its HTTP-like
status at this single boundary. JSON arguments are taken as bytes so that non-UTF-8 and
malformed JSON are refused with the chaincode's own messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from chaincode.runtime import ChaincodeConfig, ChaincodeError, Context, Contract, transaction
from chaincode.runtime.arguments import load_json

from . import market, trades
from .errors import TradingError
from .ledger import Caller, Parties, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")
Record = dict[str, Any]
ENROLLMENT_ID = "hf.EnrollmentID"


def caller_of(ctx: Context) -> Caller:
    identity = ctx.client_identity
    client_id = identity.get_id()
    return Caller(
        msp_id=identity.get_msp_id(),
        client_id=client_id,
        enrollment_id=identity.get_attribute_value(ENROLLMENT_ID) or client_id,
    )


class TradingContract(Contract):
    """Market parameters, EVs (eqs. 1-3), trades (eqs. 4-5) and their confirmation batches."""

    name = "trading"
    info: ClassVar[dict[str, Any]] = {
        "title": "P2P EV energy trading",
        "version": "1.0.0",
        "description": "EVs trade surplus energy; infrastructure operators confirm in batches",
    }
    # The organisations that play the operator's and the EV users' parts on the channel: the
    # network's one organisation with role INFRA and the one with role EVUSER, learnt once at
    # start from the chaincode's configuration (written from the topology); never hard-coded.
    parties: Parties | None = None

    def configure(self, config: ChaincodeConfig) -> None:
        super().configure(config)
        self.parties = Parties(
            operator_msp_id=config.one_with_role("INFRA").msp_id,
            ev_users_msp_id=config.one_with_role("EVUSER").msp_id,
        )

    def _run(self, ctx: Context, work: Callable[[Tx], T]) -> T:
        if self.parties is None:  # served without its configuration: refuse, name the fix
            raise ChaincodeError(
                "the trading chaincode has no configuration: serve it with --config "
                "(the sandbox's chaincode/trading/config.json)",
                500,
            )
        tx = Tx(ctx.stub, caller_of(ctx), self.parties)
        try:
            result = work(tx)
        except TradingError as exc:
            log.debug("trading refused tx %s: %s", tx.tx_id, exc.category)
            raise ChaincodeError(str(exc), exc.status) from exc
        tx.emit()
        return result

    def _json(
        self,
        ctx: Context,
        function: str,
        argument: str,
        raw: bytes,
        work: Callable[[Tx, Record], T],
    ) -> T:
        return self._run(ctx, lambda tx: work(tx, load_json(raw, function, argument)))

    # --- market parameters ----------------------------------------------------------------

    @transaction()
    def SetMarketParameters(self, ctx: Context, parameters: bytes) -> Record:
        """{buyThresholdPct, sellThresholdPct, priceEurPerKwh}: a new version, in force now."""
        return self._json(
            ctx, "SetMarketParameters", "parameters", parameters, market.set_parameters
        )

    @transaction(evaluate=True)
    def ReadMarketParameters(self, ctx: Context, version: int = 0) -> Record:
        return self._run(ctx, lambda tx: market.parameters(tx, version))

    # --- EVs --------------------------------------------------------------------------------

    @transaction()
    def DeclareEv(self, ctx: Context, ev: bytes) -> Record:
        """{evId, batteryCapacityKwh, socPct, owner?}: role and energies by eqs. 1-3."""
        return self._json(ctx, "DeclareEv", "ev", ev, market.declare_ev)

    @transaction(evaluate=True)
    def ReadEv(self, ctx: Context, evId: str) -> Record:
        return self._run(ctx, lambda tx: market.read_ev(tx, evId))

    @transaction(evaluate=True)
    def ReadEvBalance(self, ctx: Context, evId: str) -> Record:
        return self._run(ctx, lambda tx: market.balance(tx, evId))

    @transaction(evaluate=True)
    def ListEvs(self, ctx: Context, pageSize: int = 100, bookmark: str = "") -> Record:
        return self._run(ctx, lambda tx: market.list_evs(tx, pageSize, bookmark))

    # --- trades -----------------------------------------------------------------------------

    @transaction()
    def SubmitTrade(self, ctx: Context, trade: bytes) -> Record:
        """{tradeId?, buyerId, sellerId, amountKwh}, by the buyer's owner: Pending."""
        return self._json(ctx, "SubmitTrade", "trade", trade, trades.submit)

    @transaction()
    def ConfirmTrades(self, ctx: Context, batch: bytes) -> Record:
        """{batchId?, confirmations: [{tradeId, deliveredKwh?}]} (at most 500), by the operator."""
        return self._json(ctx, "ConfirmTrades", "batch", batch, trades.confirm)

    @transaction()
    def RejectTrade(self, ctx: Context, rejection: bytes) -> Record:
        """{tradeId, reason}, by the operator: its energy goes back to both EVs."""
        return self._json(ctx, "RejectTrade", "rejection", rejection, trades.reject)

    @transaction(evaluate=True)
    def ReadTrade(self, ctx: Context, tradeId: str) -> Record:
        return self._run(ctx, lambda tx: trades.read_trade(tx, tradeId))

    @transaction(evaluate=True)
    def GetTradeHistory(self, ctx: Context, tradeId: str) -> list[Record]:
        return self._run(ctx, lambda tx: trades.history(tx, tradeId))

    @transaction(evaluate=True)
    def ListTradesByStatus(
        self, ctx: Context, status: str, pageSize: int = 100, bookmark: str = ""
    ) -> Record:
        return self._run(ctx, lambda tx: trades.list_by_status(tx, status, pageSize, bookmark))

    @transaction(evaluate=True)
    def ListTradesByEv(
        self, ctx: Context, evId: str, pageSize: int = 100, bookmark: str = ""
    ) -> Record:
        return self._run(ctx, lambda tx: trades.list_by_ev(tx, evId, pageSize, bookmark))

    @transaction(evaluate=True)
    def ReadBatch(self, ctx: Context, batchId: str) -> Record:
        return self._run(ctx, lambda tx: trades.read_batch(tx, batchId))
