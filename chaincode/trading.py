"""Peer-to-peer EV energy trading (DESIGN §7), on the `p2p-trading` channel.

An EV user (the buyer, EVUsersMSP) submits a trade it matched off-chain: seller, amount and
price; it is `Pending`. The infrastructure operator (InfraOpMSP) confirms pending trades in
batches, with the amount actually delivered (never more than agreed) and its cost; a
confirmed trade is final. Cost is amount × price rounded to the cent, half to even, which
gives the seed's own figures (18.0 kWh → 2.70 €, 43.5 kWh → 6.52 € at 0.15 €/kWh).
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from chaincode.runtime import ChaincodeError, Context, Contract, transaction

__all__ = ["TradingContract", "trade_cost"]

BUYER_MSP = "EVUsersMSP"
OPERATOR_MSP = "InfraOpMSP"
TRADE = "trade"
STATUS_INDEX = "status~trade"
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
CENT = Decimal("0.01")


def _dump(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _decimal(name: str, raw: Any, *, positive: bool = True) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ChaincodeError(f"{name} {raw!r} is not a number") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise ChaincodeError(
            f"{name} {raw!r} must be {'greater than' if positive else 'at least'} 0"
        )
    return value


def trade_cost(amount_kwh: Decimal, price_eur_per_kwh: Decimal) -> Decimal:
    """Eq. 5: cost = amount × P, to the cent."""
    return (amount_kwh * price_eur_per_kwh).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _id(name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
        raise ChaincodeError(f"{name} {raw!r} must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    return raw


class TradingContract(Contract):
    name = "trading"
    info = {"title": "P2P EV energy trading", "version": "1.0.0"}

    def _trade_key(self, ctx: Context, trade_id: str) -> str:
        return ctx.stub.create_composite_key(TRADE, [trade_id])

    def _read(self, ctx: Context, trade_id: str) -> dict[str, Any]:
        raw = ctx.stub.get_state(self._trade_key(ctx, trade_id))
        if not raw:
            raise ChaincodeError(f"trade {trade_id} does not exist")
        trade: dict[str, Any] = json.loads(raw)
        return trade

    def _require_msp(self, ctx: Context, msp_id: str, action: str) -> str:
        caller = ctx.client_identity.get_msp_id()
        if caller != msp_id:
            raise ChaincodeError(f"{action} is for {msp_id} identities; the caller is {caller}")
        return caller

    @transaction()
    def SubmitTrade(self, ctx: Context, trade: dict[str, Any]) -> dict[str, Any]:
        """The buyer records a matched trade: tradeId, sellerId, buyerId, amountKwh, priceEurPerKwh."""
        self._require_msp(ctx, BUYER_MSP, "submitting a trade")
        trade_id = _id("tradeId", trade.get("tradeId"))
        buyer = _id("buyerId", trade.get("buyerId"))
        seller = _id("sellerId", trade.get("sellerId"))
        if buyer == seller:
            raise ChaincodeError(f"trade {trade_id}: buyer and seller are both {buyer}")
        amount = _decimal("amountKwh", trade.get("amountKwh"))
        price = _decimal("priceEurPerKwh", trade.get("priceEurPerKwh"))
        key = self._trade_key(ctx, trade_id)
        if ctx.stub.get_state(key):
            raise ChaincodeError(f"trade {trade_id} already exists")
        record = {
            "tradeId": trade_id,
            "buyerId": buyer,
            "sellerId": seller,
            "amountKwh": str(amount),
            "priceEurPerKwh": str(price),
            "costEur": str(trade_cost(amount, price)),
            "status": "Pending",
            "submittedBy": ctx.client_identity.get_id(),
            "submittedAt": ctx.stub.get_tx_timestamp().isoformat(),
            "submitTxId": ctx.stub.get_tx_id(),
        }
        ctx.stub.put_state(key, _dump(record))
        ctx.stub.put_state(
            ctx.stub.create_composite_key(STATUS_INDEX, ["Pending", trade_id]), b"\x00"
        )
        ctx.stub.set_event("TradeSubmitted", _dump({"tradeId": trade_id, "status": "Pending"}))
        return record

    @transaction()
    def ConfirmTrades(
        self, ctx: Context, confirmations: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The operator confirms a batch: [{tradeId, amountKwh}], all or nothing."""
        self._require_msp(ctx, OPERATOR_MSP, "confirming trades")
        if not confirmations:
            raise ChaincodeError("ConfirmTrades needs at least one confirmation")
        seen: set[str] = set()
        updated = []
        for c in confirmations:  # check the whole batch before writing anything
            trade_id = _id("tradeId", c.get("tradeId"))
            if trade_id in seen:
                raise ChaincodeError(f"trade {trade_id} appears twice in the batch")
            seen.add(trade_id)
            trade = self._read(ctx, trade_id)
            if trade["status"] != "Pending":
                raise ChaincodeError(
                    f"trade {trade_id} is {trade['status']}; only Pending trades can be confirmed"
                )
            delivered = _decimal("amountKwh", c.get("amountKwh", trade["amountKwh"]))
            if delivered > Decimal(trade["amountKwh"]):
                raise ChaincodeError(
                    f"trade {trade_id}: delivered {delivered} kWh exceeds the agreed {trade['amountKwh']} kWh"
                )
            cost = trade_cost(delivered, Decimal(trade["priceEurPerKwh"]))
            if "costEur" in c and _decimal("costEur", c["costEur"], positive=False) != cost:
                raise ChaincodeError(
                    f"trade {trade_id}: cost {c['costEur']} differs from amount × price = {cost}"
                )
            trade.update(
                {
                    "status": "Confirmed",
                    "deliveredKwh": str(delivered),
                    "costEur": str(cost),
                    "confirmedBy": ctx.client_identity.get_id(),
                    "confirmedAt": ctx.stub.get_tx_timestamp().isoformat(),
                    "confirmTxId": ctx.stub.get_tx_id(),
                }
            )
            updated.append(trade)
        for trade in updated:
            tid = trade["tradeId"]
            ctx.stub.put_state(self._trade_key(ctx, tid), _dump(trade))
            ctx.stub.del_state(ctx.stub.create_composite_key(STATUS_INDEX, ["Pending", tid]))
            ctx.stub.put_state(
                ctx.stub.create_composite_key(STATUS_INDEX, ["Confirmed", tid]), b"\x00"
            )
        ctx.stub.set_event("TradesConfirmed", _dump({"tradeIds": sorted(seen)}))
        return updated

    @transaction(evaluate=True)
    def ReadTrade(self, ctx: Context, tradeId: str) -> dict[str, Any]:
        return self._read(ctx, tradeId)

    @transaction(evaluate=True)
    def ListTrades(
        self, ctx: Context, status: str, pageSize: int = 100, bookmark: str = ""
    ) -> dict[str, Any]:
        if status not in ("Pending", "Confirmed"):
            raise ChaincodeError(f"status {status!r} must be Pending or Confirmed")
        if not 1 <= pageSize <= 1000:
            raise ChaincodeError(f"pageSize {pageSize} must be between 1 and 1000")
        keys, meta = ctx.stub.get_state_by_partial_composite_key_with_pagination(
            STATUS_INDEX, [status], pageSize, bookmark
        )
        records = [self._read(ctx, ctx.stub.split_composite_key(kv.key)[1][1]) for kv in keys]
        return {
            "records": records,
            "bookmark": meta.bookmark,
            "fetchedCount": meta.fetched_records_count,
        }
