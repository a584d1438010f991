"""Equations 1-5 of the P2P market, as the ledger applies them (exact decimals, no floats).

    (1) role  = Buyer if SoC < T_b, Seller if SoC > T_s, Neutral otherwise
    (2) E_req = (T_b - SoC) x BC            a buyer's required energy
    (3) E_av  = (SoC - T_s) x BC            a seller's available energy
    (4) E_tr <= min(E_req_i, E_av_j)        what buyer i may take from seller j (both less what
                                            their other trades already hold)
    (5) cost  = E_tr x P                    to the cent, half to even

SoC and thresholds are percentages, BC and energies kWh, P EUR/kWh. Energies are kept to the
watt-hour (three decimals), rounded down: the ledger never credits energy a battery does not
hold. Half-to-even cents give the seed's own figures: 18.0 kWh -> 2.70 EUR and 43.5 kWh ->
6.52 EUR at 0.15 EUR/kWh (6.525 is a tie, which goes to the even cent).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

WH = Decimal("0.001")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO_KWH = Decimal("0.000")


class Role(StrEnum):
    BUYER = "Buyer"
    SELLER = "Seller"
    NEUTRAL = "Neutral"


def role_of(soc_pct: Decimal, buy_threshold_pct: Decimal, sell_threshold_pct: Decimal) -> Role:
    """Eq. 1. Needs T_b <= T_s (the market parameters are refused otherwise)."""
    if soc_pct < buy_threshold_pct:
        return Role.BUYER
    if soc_pct > sell_threshold_pct:
        return Role.SELLER
    return Role.NEUTRAL


def energy(fraction_pct: Decimal, capacity_kwh: Decimal) -> Decimal:
    """``fraction_pct`` % of the battery, to the Wh, rounded down; never negative."""
    if fraction_pct <= 0:
        return ZERO_KWH
    return (fraction_pct * capacity_kwh / HUNDRED).quantize(WH, rounding=ROUND_DOWN)


def required_kwh(soc_pct: Decimal, capacity_kwh: Decimal, buy_threshold_pct: Decimal) -> Decimal:
    """Eq. 2 (zero for an EV at or above T_b)."""
    return energy(buy_threshold_pct - soc_pct, capacity_kwh)


def available_kwh(soc_pct: Decimal, capacity_kwh: Decimal, sell_threshold_pct: Decimal) -> Decimal:
    """Eq. 3 (zero for an EV at or below T_s)."""
    return energy(soc_pct - sell_threshold_pct, capacity_kwh)


def tradable_kwh(buyer_remaining_kwh: Decimal, seller_remaining_kwh: Decimal) -> Decimal:
    """Eq. 4: the most a trade between these two may carry."""
    return min(buyer_remaining_kwh, seller_remaining_kwh)


def cost_eur(amount_kwh: Decimal, price_eur_per_kwh: Decimal) -> Decimal:
    """Eq. 5: amount x price, to the cent, half to even."""
    return (amount_kwh * price_eur_per_kwh).quantize(CENT, rounding=ROUND_HALF_EVEN)


def kwh_text(value: Decimal) -> str:
    """Energies as the ledger writes them: kWh with three decimals (``18.000``)."""
    return str(value.quantize(WH))


def eur_text(value: Decimal) -> str:
    return str(value.quantize(CENT))


def plain(value: Decimal) -> str:
    """A parameter as given, without exponent or trailing zeros (``0.15``, ``70``)."""
    return f"{value.normalize():f}"


__all__ = [
    "Role",
    "available_kwh",
    "cost_eur",
    "eur_text",
    "kwh_text",
    "plain",
    "required_kwh",
    "role_of",
    "tradable_kwh",
]
