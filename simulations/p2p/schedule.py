"""The day in the lot, slot by slot: who charges from the grid, what each trade delivers.

Grid only (the reference): every buyer charges from the grid at its charger's full power from
the moment it arrives until it has its required energy (eq. 2) or leaves. This uncontrolled
charging is what makes the lot's morning peak.

With P2P: in every slot, each trade whose buyer and seller are both parked moves what both
chargers allow (trades ending soonest first); what a buyer's charger has left in the slot goes
to the grid energy it still needs beyond its trades. A trade still short when its buyer or
seller leaves is delivered short (the operator confirms what was delivered, never more than
agreed) and its buyer covers the shortfall from the grid while it stays. Sellers' energy goes
straight to buyers, so the lot's grid load is the buyers' grid charging alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .energy import CENT, Role, cost_eur
from .matching import Trade
from .scenario import EV, SLOT_MINUTES, SLOTS_PER_DAY, CaseSettings, grid_tariff

KW_PER_WH_SLOT = 60 / SLOT_MINUTES / 1000  # Wh moved in one slot -> mean kW over it


@dataclass(frozen=True)
class Delivery:
    trade: Trade
    delivered_wh: int
    cost_eur: Decimal  # eq. 5 on the energy delivered


@dataclass(frozen=True)
class BuyerOutcome:
    ev_id: str
    required_wh: int
    grid_only_wh: int
    grid_only_eur: Decimal
    p2p_wh: int
    p2p_eur: Decimal
    grid_wh: int  # from the grid, with P2P
    grid_eur: Decimal

    @property
    def total_eur(self) -> Decimal:
        return self.p2p_eur + self.grid_eur


@dataclass(frozen=True)
class Day:
    grid_only_kw: np.ndarray  # the lot's grid load per slot, grid only
    with_p2p_kw: np.ndarray  # the lot's grid load per slot, with P2P
    p2p_kw: np.ndarray  # sellers' discharge per slot (= buyers' P2P charging)
    deliveries: tuple[Delivery, ...]
    buyers: tuple[BuyerOutcome, ...]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def simulate_day(fleet: Sequence[EV], trades: Sequence[Trade], settings: CaseSettings) -> Day:
    evs = {ev.ev_id: ev for ev in fleet}
    buyers = [ev for ev in fleet if ev.role is Role.BUYER and ev.required_wh > 0]
    slot_wh = settings.slot_wh
    tariff = [grid_tariff(s) for s in range(SLOTS_PER_DAY)]

    # Grid only.
    grid_only = np.zeros(SLOTS_PER_DAY, dtype=np.int64)
    grid_only_wh: dict[str, int] = {}
    grid_only_eur: dict[str, Decimal] = {}
    for b in buyers:
        need, cost = b.required_wh, Decimal(0)
        for s in range(b.arrival, b.departure):
            if need <= 0:
                break
            e = min(slot_wh, need)
            grid_only[s] += e
            cost += Decimal(e) / 1000 * tariff[s]
            need -= e
        grid_only_wh[b.ev_id] = b.required_wh - need
        grid_only_eur[b.ev_id] = _cents(cost)

    # With P2P.
    left = {t.trade_id: t.amount_wh for t in trades}
    delivered = dict.fromkeys(left, 0)
    grid_need = {b.ev_id: b.required_wh for b in buyers}
    for t in trades:
        grid_need[t.buyer] -= t.amount_wh
    ends = {t.trade_id: min(evs[t.buyer].departure, evs[t.seller].departure) for t in trades}
    by_end = sorted(trades, key=lambda t: (ends[t.trade_id], t.trade_id))
    mine: dict[str, list[Trade]] = {b.ev_id: [] for b in buyers}
    for t in trades:
        mine.setdefault(t.buyer, []).append(t)
    with_p2p = np.zeros(SLOTS_PER_DAY, dtype=np.int64)
    p2p = np.zeros(SLOTS_PER_DAY, dtype=np.int64)
    grid_wh = dict.fromkeys(grid_need, 0)
    grid_eur = dict.fromkeys(grid_need, Decimal(0))
    for s in range(SLOTS_PER_DAY):
        head = {ev_id: slot_wh for ev_id, ev in evs.items() if ev.present(s)}
        for t in by_end:
            if left[t.trade_id] and t.buyer in head and t.seller in head:
                e = min(left[t.trade_id], head[t.buyer], head[t.seller])
                left[t.trade_id] -= e
                delivered[t.trade_id] += e
                head[t.buyer] -= e
                head[t.seller] -= e
                p2p[s] += e
        for b in buyers:
            # a buyer whose trades can no longer all arrive in the slots it has left moves the
            # excess to the grid now, while it still has slots to charge it in
            if b.ev_id in head:
                pending = [t for t in mine[b.ev_id] if left[t.trade_id]]
                behind = grid_need[b.ev_id] + sum(left[t.trade_id] for t in pending)
                excess = behind - slot_wh * (b.departure - s - 1)
                for t in sorted(pending, key=lambda t: ends[t.trade_id], reverse=True):
                    if excess <= 0:
                        break
                    moved = min(excess, left[t.trade_id])
                    left[t.trade_id] -= moved
                    grid_need[b.ev_id] += moved
                    excess -= moved
            if b.ev_id in head and grid_need[b.ev_id] > 0:
                e = min(head[b.ev_id], grid_need[b.ev_id])
                grid_need[b.ev_id] -= e
                grid_wh[b.ev_id] += e
                grid_eur[b.ev_id] += Decimal(e) / 1000 * tariff[s]
                with_p2p[s] += e
        for t in by_end:  # trades whose overlap ends now: the buyer covers any shortfall
            if ends[t.trade_id] == s + 1 and left[t.trade_id]:
                grid_need[t.buyer] += left[t.trade_id]
                left[t.trade_id] = 0

    price = settings.price_eur_per_kwh
    deliveries = tuple(
        Delivery(t, delivered[t.trade_id], cost_eur(delivered[t.trade_id], price)) for t in trades
    )
    p2p_wh = dict.fromkeys(grid_need, 0)
    p2p_eur = dict.fromkeys(grid_need, Decimal(0))
    for d in deliveries:
        p2p_wh[d.trade.buyer] += d.delivered_wh
        p2p_eur[d.trade.buyer] += d.cost_eur
    outcomes = tuple(
        BuyerOutcome(
            ev_id=b.ev_id,
            required_wh=b.required_wh,
            grid_only_wh=grid_only_wh[b.ev_id],
            grid_only_eur=grid_only_eur[b.ev_id],
            p2p_wh=p2p_wh[b.ev_id],
            p2p_eur=p2p_eur[b.ev_id],
            grid_wh=grid_wh[b.ev_id],
            grid_eur=_cents(grid_eur[b.ev_id]),
        )
        for b in buyers
    )
    return Day(
        grid_only_kw=grid_only * KW_PER_WH_SLOT,
        with_p2p_kw=with_p2p * KW_PER_WH_SLOT,
        p2p_kw=p2p * KW_PER_WH_SLOT,
        deliveries=deliveries,
        buyers=outcomes,
    )
