"""The market's parameters (T_b, T_s, P; versioned) and its EVs (declared; eqs. 1-3).

An EV's record holds what it declared (battery capacity, state of charge), what eqs. 1-3 make
of it under the parameters in force (role, required or available energy, and that version),
and ``remainingKwh``: what it may still trade, i.e. its required (buyer) or available (seller)
energy less the energy of its pending and confirmed trades. A trade takes its amount from both
EVs' ``remainingKwh`` when it is submitted, so two pending trades can never hold the same kWh;
a rejection, or a confirmation of less than agreed, gives the difference back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import access
from .errors import Forbidden, InvalidArgument, NotFound, WrongState
from .ledger import EV, PARAMS, PARAMS_BY_VERSION, TRADE, TRADE_BY_EV, Tx
from .models import EvIn, MarketParametersIn, build, label_of
from .rules import (
    ZERO_KWH,
    Role,
    available_kwh,
    eur_text,
    kwh_text,
    plain,
    required_kwh,
    role_of,
)

Record = dict[str, Any]


# --- parameters ------------------------------------------------------------------------------


def set_parameters(tx: Tx, data: Record) -> Record:
    access.require_operator(tx, "setting the market parameters")
    p = build(MarketParametersIn, data, "market parameters")
    current = tx.get(PARAMS)
    version = int(current["version"]) + 1 if current else 1
    record = {
        "buyThresholdPct": plain(p.buyThresholdPct),
        "priceEurPerKwh": plain(p.priceEurPerKwh),
        "sellThresholdPct": plain(p.sellThresholdPct),
        "set": tx.stamp(),
        "version": version,
    }
    tx.put(PARAMS, [], record)
    tx.put(PARAMS_BY_VERSION, [f"{version:06d}"], record)
    tx.event("MarketParametersSet", {k: v for k, v in record.items() if k != "set"})
    return record


def parameters(tx: Tx, version: int = 0) -> Record:
    """The parameters in force (``version`` 0) or of one version."""
    if version < 0:
        raise InvalidArgument(f"version {version} must be 0 (in force) or a version number")
    record = tx.get(PARAMS_BY_VERSION, f"{version:06d}") if version else tx.get(PARAMS)
    if record is None:
        if version:
            raise NotFound(f"market parameters version {version} were never set")
        raise NotFound(
            "the market parameters are not set yet; the infrastructure operator "
            f"({tx.parties.operator_msp_id}) sets them with SetMarketParameters"
        )
    return record


# --- EVs -------------------------------------------------------------------------------------


def read_ev(tx: Tx, ev_id: str) -> Record:
    ev = tx.get(EV, ev_id)
    if ev is None:
        raise NotFound(f"EV {ev_id} is not declared")
    return ev


def pending_trade_ids(tx: Tx, ev_id: str) -> list[str]:
    ids = list(tx.index_ids(TRADE_BY_EV, ev_id))
    return [t["tradeId"] for t in tx.records(TRADE, ids) if t["status"] == "Pending"]


def _owner(tx: Tx, ev: EvIn, existing: Record | None) -> str:
    if access.is_operator(tx):
        owner = ev.owner or (existing["owner"] if existing else None)
        if owner is None:
            raise InvalidArgument(
                f"EV {ev.evId}: the operator declaring an EV names its owner "
                "(field 'owner': the EV user's enrollment id, e.g. User1@evusers.cbp.local)"
            )
        return owner
    me = tx.caller.enrollment_id
    if ev.owner is not None and ev.owner != me:
        raise Forbidden(
            f"EV {ev.evId}: an EV user declares its own EVs; owner {ev.owner} is not {me}"
        )
    if existing is not None and existing["owner"] != me:
        raise Forbidden(f"EV {ev.evId} belongs to {existing['owner']}; the caller is {me}")
    return me


def declare_ev(tx: Tx, data: Record) -> Record:
    """Declare (or declare again, for a new stay) an EV: eqs. 1-3 under the parameters in force."""
    access.require_declarer(tx)
    ev = build(EvIn, data, label_of("EV", data, "evId"))
    tx.prefetch((EV, ev.evId), (PARAMS,))
    existing = tx.get(EV, ev.evId)
    owner = _owner(tx, ev, existing)
    params = parameters(tx)
    if existing is not None:
        pending = pending_trade_ids(tx, ev.evId)
        if pending:
            raise WrongState(
                f"EV {ev.evId} has pending trades ({', '.join(pending[:5])}); they are confirmed "
                "or rejected before the EV is declared again"
            )
    t_b, t_s = Decimal(params["buyThresholdPct"]), Decimal(params["sellThresholdPct"])
    role = role_of(ev.socPct, t_b, t_s)
    required = required_kwh(ev.socPct, ev.batteryCapacityKwh, t_b)
    available = available_kwh(ev.socPct, ev.batteryCapacityKwh, t_s)
    record = {
        "availableKwh": kwh_text(available if role is Role.SELLER else ZERO_KWH),
        "batteryCapacityKwh": kwh_text(ev.batteryCapacityKwh),
        "declared": tx.stamp(),
        "evId": ev.evId,
        "owner": owner,
        "paramsVersion": params["version"],
        "remainingKwh": kwh_text(
            required if role is Role.BUYER else available if role is Role.SELLER else ZERO_KWH
        ),
        "requiredKwh": kwh_text(required if role is Role.BUYER else ZERO_KWH),
        "role": role.value,
        "socPct": plain(ev.socPct),
        "stay": int(existing["stay"]) + 1 if existing else 1,
    }
    tx.put(EV, [ev.evId], record)
    tx.event(
        "EvDeclared",
        {
            k: record[k]
            for k in ("evId", "role", "requiredKwh", "availableKwh", "paramsVersion", "stay")
        },
    )
    return record


def list_evs(tx: Tx, page_size: int, bookmark: str) -> Record:
    return tx.record_page(EV, page_size, bookmark)


def balance(tx: Tx, ev_id: str) -> Record:
    """What an EV has bought, sold, paid and earned, pending and confirmed, over all its stays."""
    ev = read_ev(tx, ev_id)
    trades = tx.records(TRADE, list(tx.index_ids(TRADE_BY_EV, ev_id)))
    sums = {k: Decimal(0) for k in ("pendingBought", "pendingSold", "bought", "sold")}
    paid = earned = Decimal(0)
    counts = {"Pending": 0, "Confirmed": 0, "Rejected": 0}
    for t in trades:
        counts[t["status"]] += 1
        side = "Bought" if t["buyerId"] == ev_id else "Sold"
        if t["status"] == "Pending":
            sums["pending" + side] += Decimal(t["amountKwh"])
        elif t["status"] == "Confirmed":
            sums[side.lower()] += Decimal(t["deliveredKwh"])
            if side == "Bought":
                paid += Decimal(t["costEur"])
            else:
                earned += Decimal(t["costEur"])
    return {
        "boughtKwh": kwh_text(sums["bought"]),
        "earnedEur": eur_text(earned),
        "evId": ev_id,
        "paidEur": eur_text(paid),
        "pendingBoughtKwh": kwh_text(sums["pendingBought"]),
        "pendingSoldKwh": kwh_text(sums["pendingSold"]),
        "remainingKwh": ev["remainingKwh"],
        "role": ev["role"],
        "soldKwh": kwh_text(sums["sold"]),
        "trades": counts,
    }
