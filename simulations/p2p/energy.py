"""Equations 1-5 of the P2P market, in whole watt-hours.

    (1) role  = buyer if SoC < T_b, seller if SoC > T_s, neutral otherwise
    (2) E_req = (T_b - SoC) * BC            for a buyer
    (3) E_av  = (SoC - T_s) * BC            for a seller
    (4) E_tr  = min(E_req_i, E_av_j)        what buyer i can take from seller j
    (5) cost  = E_tr * P                    to the cent, half to even

The trading chaincode holds the same rules for the ledger; this is the simulation's own copy
(simulations talk to the ledger only through the gateway), and the ledger run checks that both
give the same roles and energies for every EV.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


class Role(StrEnum):
    BUYER = "Buyer"
    SELLER = "Seller"
    NEUTRAL = "Neutral"


def role_of(soc_permille: int, buy_threshold_pct: int, sell_threshold_pct: int) -> Role:
    """Eq. 1, with SoC in tenths of a percent and thresholds in percent."""
    if soc_permille < buy_threshold_pct * 10:
        return Role.BUYER
    if soc_permille > sell_threshold_pct * 10:
        return Role.SELLER
    return Role.NEUTRAL


def required_wh(soc_permille: int, capacity_kwh: int, buy_threshold_pct: int) -> int:
    """Eq. 2: (T_b - SoC) x BC, in Wh (exact: tenths of a percent of whole kWh)."""
    return max(0, (buy_threshold_pct * 10 - soc_permille) * capacity_kwh)


def available_wh(soc_permille: int, capacity_kwh: int, sell_threshold_pct: int) -> int:
    """Eq. 3: (SoC - T_s) x BC, in Wh."""
    return max(0, (soc_permille - sell_threshold_pct * 10) * capacity_kwh)


def trade_wh(required: int, available: int) -> int:
    """Eq. 4: a buyer takes what it needs or what the seller has, whichever is less."""
    return min(required, available)


def cost_eur(energy_wh: int, price_eur_per_kwh: Decimal) -> Decimal:
    """Eq. 5: energy x price, rounded to the cent, half to even (18.0 kWh -> 2.70 EUR,
    43.5 kWh -> 6.52 EUR at 0.15 EUR/kWh, as in the seed's example)."""
    return (Decimal(energy_wh) / 1000 * price_eur_per_kwh).quantize(CENT, ROUND_HALF_EVEN)


def kwh(energy_wh: int) -> Decimal:
    """Wh as kWh with three decimals, the ledger's resolution."""
    return (Decimal(energy_wh) / 1000).quantize(Decimal("0.001"))
