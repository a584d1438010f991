"""Trades: a buyer submits (Pending), the operator confirms in batches or rejects; reads.

Lifecycle: ``Pending`` -> ``Confirmed`` (final) or ``Rejected`` (final). Submitting takes the
amount from both EVs' remaining energy at once; confirming writes only the trades, their
status index and the batch record (an EV is rewritten only when less was delivered than
agreed, to give the difference back), so confirmations never contend with each other or
with new trades on the EVs' records.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from chaincode.runtime.strict import quote

from . import access
from .errors import (
    AlreadyExists,
    Forbidden,
    InsufficientEnergy,
    InvalidArgument,
    NotFound,
    WrongState,
)
from .ledger import BATCH, EV, PARAMS, TRADE, TRADE_BY_EV, TRADE_BY_STATUS, Tx, page_result
from .market import parameters, read_ev
from .models import ConfirmBatchIn, RejectIn, TradeIn, build, label_of
from .rules import Role, cost_eur, eur_text, kwh_text, tradable_kwh

Record = dict[str, Any]
STATUSES = ("Pending", "Confirmed", "Rejected")


def read_trade(tx: Tx, trade_id: str) -> Record:
    trade = tx.get(TRADE, trade_id)
    if trade is None:
        raise NotFound(f"trade {trade_id} does not exist")
    return trade


def _check_party(trade_id: str, ev: Record, role: Role, version: int) -> None:
    if ev["role"] != role.value:
        raise WrongState(
            f"trade {trade_id}: EV {ev['evId']} is a {ev['role']} (SoC {ev['socPct']} %); "
            f"only a {role.value} may {'buy' if role is Role.BUYER else 'sell'} (eq. 1)"
        )
    if ev["paramsVersion"] != version:
        raise WrongState(
            f"trade {trade_id}: EV {ev['evId']} was declared under market parameters "
            f"v{ev['paramsVersion']}, v{version} is in force; declare it again"
        )


def submit(tx: Tx, data: Record) -> Record:
    """A buyer's trade with a seller: eq. 4 against what both have left, eq. 5 for its cost."""
    access.require_ev_user(tx, "submitting a trade")
    t = build(TradeIn, data, label_of("trade", data, "tradeId"))
    trade_id = t.tradeId or tx.derived_id("TRD")
    tx.prefetch((TRADE, trade_id), (EV, t.buyerId), (EV, t.sellerId), (PARAMS,))
    if tx.get(TRADE, trade_id) is not None:
        raise AlreadyExists(f"trade {trade_id} already exists")
    if t.buyerId == t.sellerId:
        raise InvalidArgument(f"trade {trade_id}: buyer and seller are both EV {t.buyerId}")
    buyer, seller = read_ev(tx, t.buyerId), read_ev(tx, t.sellerId)
    if buyer["owner"] != tx.caller.enrollment_id:
        raise Forbidden(
            f"trade {trade_id}: only EV {t.buyerId}'s owner ({buyer['owner']}) submits trades as "
            f"its buyer; the caller is {tx.caller.enrollment_id}"
        )
    params = parameters(tx)
    _check_party(trade_id, buyer, Role.BUYER, params["version"])
    _check_party(trade_id, seller, Role.SELLER, params["version"])
    need, left = Decimal(buyer["remainingKwh"]), Decimal(seller["remainingKwh"])
    amount = t.amountKwh
    if amount > need:
        raise InsufficientEnergy(
            f"trade {trade_id}: {kwh_text(amount)} kWh exceeds buyer EV {t.buyerId}'s remaining "
            f"need of {kwh_text(need)} kWh (required {buyer['requiredKwh']} kWh, eq. 2, less "
            "its other trades)"
        )
    if amount > left:
        raise InsufficientEnergy(
            f"trade {trade_id}: {kwh_text(amount)} kWh exceeds seller EV {t.sellerId}'s remaining "
            f"{kwh_text(left)} kWh (available {seller['availableKwh']} kWh, eq. 3, less its "
            f"other trades); at most {kwh_text(tradable_kwh(need, left))} kWh (eq. 4)"
        )
    price = Decimal(params["priceEurPerKwh"])
    cost = eur_text(cost_eur(amount, price))
    buyer["remainingKwh"] = kwh_text(need - amount)
    seller["remainingKwh"] = kwh_text(left - amount)
    record = {
        "agreedCostEur": cost,
        "amountKwh": kwh_text(amount),
        "batchId": None,
        "buyerId": t.buyerId,
        "costEur": cost,
        "deliveredKwh": None,
        "paramsVersion": params["version"],
        "priceEurPerKwh": params["priceEurPerKwh"],
        "sellerId": t.sellerId,
        "status": "Pending",
        "submitted": tx.stamp(),
        "tradeId": trade_id,
    }
    tx.put(EV, [t.buyerId], buyer)
    tx.put(EV, [t.sellerId], seller)
    tx.put(TRADE, [trade_id], record)
    tx.put_index(TRADE_BY_STATUS, "Pending", trade_id)
    tx.put_index(TRADE_BY_EV, t.buyerId, trade_id)
    tx.put_index(TRADE_BY_EV, t.sellerId, trade_id)
    tx.event("TradeSubmitted", _summary(record))
    return record


def _summary(trade: Record) -> Record:
    keys = ("tradeId", "buyerId", "sellerId", "amountKwh", "costEur", "status")
    return {k: trade[k] for k in keys}


def _pending(tx: Tx, trade_id: str, verb: str) -> Record:
    """The trade, if it may be confirmed or rejected (``verb``) by the caller now."""
    trade = read_trade(tx, trade_id)
    if trade["status"] != "Pending":
        raise WrongState(
            f"trade {trade_id} is {trade['status']}, which is final; only a Pending trade "
            f"can be {verb}ed"
        )
    if trade["submitted"]["by"]["id"] == tx.caller.client_id:
        raise Forbidden(
            f"trade {trade_id} was submitted by the caller; a buyer may not {verb} its own trade"
        )
    return trade


def _release(tx: Tx, amounts: dict[str, Decimal]) -> None:
    """Give energy back to EVs' remaining energy (a rejection, a short delivery)."""
    tx.prefetch(*((EV, ev_id) for ev_id in amounts))
    for ev_id, amount in sorted(amounts.items()):
        ev = read_ev(tx, ev_id)
        ev["remainingKwh"] = kwh_text(Decimal(ev["remainingKwh"]) + amount)
        tx.put(EV, [ev_id], ev)


def confirm(tx: Tx, data: Record) -> Record:
    """The operator confirms a batch of pending trades with the energy delivered; all or none."""
    access.require_operator(tx, "confirming trades")
    b = build(ConfirmBatchIn, data, label_of("batch", data, "batchId"))
    batch_id = b.batchId or tx.derived_id("BATCH")
    ids = [c.tradeId for c in b.confirmations]
    seen: set[str] = set()
    for trade_id in ids:
        if trade_id in seen:
            raise InvalidArgument(f"batch {batch_id}: trade {trade_id} appears twice")
        seen.add(trade_id)
    tx.prefetch((BATCH, batch_id), *((TRADE, i) for i in ids))
    if tx.get(BATCH, batch_id) is not None:
        raise AlreadyExists(f"batch {batch_id} already exists")
    stamp = tx.stamp()
    released: dict[str, Decimal] = defaultdict(Decimal)
    confirmed = []
    total_kwh = total_eur = Decimal(0)
    for c in b.confirmations:  # check the whole batch before writing anything
        trade = _pending(tx, c.tradeId, "confirm")
        agreed = Decimal(trade["amountKwh"])
        delivered = agreed if c.deliveredKwh is None else c.deliveredKwh
        if delivered > agreed:
            raise InvalidArgument(
                f"trade {c.tradeId}: delivered {kwh_text(delivered)} kWh exceeds the agreed "
                f"{trade['amountKwh']} kWh"
            )
        if delivered < agreed:
            released[trade["buyerId"]] += agreed - delivered
            released[trade["sellerId"]] += agreed - delivered
        cost = cost_eur(delivered, Decimal(trade["priceEurPerKwh"]))
        trade.update(
            batchId=batch_id,
            confirmed=stamp,
            costEur=eur_text(cost),
            deliveredKwh=kwh_text(delivered),
            status="Confirmed",
        )
        confirmed.append(trade)
        total_kwh += delivered
        total_eur += cost
    for trade in confirmed:
        tx.put(TRADE, [trade["tradeId"]], trade)
        tx.del_index(TRADE_BY_STATUS, "Pending", trade["tradeId"])
        tx.put_index(TRADE_BY_STATUS, "Confirmed", trade["tradeId"])
    if released:
        _release(tx, released)
    batch = {
        "batchId": batch_id,
        "confirmed": stamp,
        "costEur": eur_text(total_eur),
        "count": len(confirmed),
        "deliveredKwh": kwh_text(total_kwh),
        "tradeIds": ids,
    }
    tx.put(BATCH, [batch_id], batch)
    tx.event("TradesConfirmed", {k: v for k, v in batch.items() if k != "tradeIds"})
    return {k: v for k, v in batch.items() if k != "confirmed"}


def reject(tx: Tx, data: Record) -> Record:
    """The operator rejects a pending trade with a reason; both EVs get its energy back."""
    access.require_operator(tx, "rejecting a trade")
    r = build(RejectIn, data, label_of("trade", data, "tradeId"))
    trade = _pending(tx, r.tradeId, "reject")
    amount = Decimal(trade["amountKwh"])
    _release(tx, {trade["buyerId"]: amount, trade["sellerId"]: amount})
    trade.update(
        costEur=eur_text(Decimal(0)),
        deliveredKwh=kwh_text(Decimal(0)),
        reason=r.reason,
        rejected=tx.stamp(),
        status="Rejected",
    )
    tx.put(TRADE, [r.tradeId], trade)
    tx.del_index(TRADE_BY_STATUS, "Pending", r.tradeId)
    tx.put_index(TRADE_BY_STATUS, "Rejected", r.tradeId)
    tx.event("TradeRejected", {**_summary(trade), "reason": r.reason})
    return trade


# --- reads -----------------------------------------------------------------------------------


def list_by_status(tx: Tx, status: str, page_size: int, bookmark: str) -> Record:
    if status not in STATUSES:
        raise InvalidArgument(f"status {quote(status)} must be one of {', '.join(STATUSES)}")
    ids, next_bookmark, fetched = tx.index_page(TRADE_BY_STATUS, [status], page_size, bookmark)
    return page_result(tx.records(TRADE, ids), next_bookmark, fetched)


def list_by_ev(tx: Tx, ev_id: str, page_size: int, bookmark: str) -> Record:
    read_ev(tx, ev_id)
    ids, next_bookmark, fetched = tx.index_page(TRADE_BY_EV, [ev_id], page_size, bookmark)
    return page_result(tx.records(TRADE, ids), next_bookmark, fetched)


def read_batch(tx: Tx, batch_id: str) -> Record:
    batch = tx.get(BATCH, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} does not exist")
    return {**batch, "trades": tx.records(TRADE, list(batch["tradeIds"]))}


def history(tx: Tx, trade_id: str) -> list[Record]:
    read_trade(tx, trade_id)
    return tx.history(TRADE, trade_id)
