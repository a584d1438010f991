"""The case study's four figures (the seed's figures 2-5), as PNG files.

load_profile.png   the lot's grid load over the day, grid only vs with P2P trading
soc_capacity.png   state of charge against battery capacity, by role, with T_b and T_s
energy_per_ev.png  energy each EV sold or bought (P2P, and from the grid)
cost_buyers.png    each buyer's charging cost, grid only vs with P2P
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window: the command runs on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .energy import Role  # noqa: E402
from .results import Case  # noqa: E402
from .scenario import SLOT_MINUTES, SLOTS_PER_DAY  # noqa: E402

COLOURS = {
    Role.BUYER: "#1f77b4",
    Role.SELLER: "#ff7f0e",
    Role.NEUTRAL: "#7f7f7f",
    "grid": "#8c8c8c",
    "p2p": "#2ca02c",
}
PLURAL = {Role.BUYER: "buyers", Role.SELLER: "sellers", Role.NEUTRAL: "neutral"}
DPI = 130


def _finish(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _subtitle(case: Case) -> str:
    s = case.settings
    return (
        f"{len(case.fleet)} EVs (seed {s.seed}), T_b {s.buy_threshold_pct} %, "
        f"T_s {s.sell_threshold_pct} %, P2P price {s.price_eur_per_kwh} €/kWh, "
        f"{s.charger_kw} kW chargers, {case.chosen.label} matching"
    )


def load_profile(case: Case, path: Path) -> Path:
    day = case.day
    hours = np.arange(SLOTS_PER_DAY + 1) * SLOT_MINUTES / 60

    def steps(kw: np.ndarray) -> np.ndarray:
        return np.append(kw, kw[-1])

    fig, ax = plt.subplots(figsize=(10, 5))
    ax.fill_between(
        hours,
        steps(day.p2p_kw),
        step="post",
        color=COLOURS["p2p"],
        alpha=0.25,
        label="energy traded between EVs (sellers' discharge)",
    )
    # With P2P drawn first and wider: where both loads are equal, the grid-only line shows on it.
    ax.step(
        hours,
        steps(day.with_p2p_kw),
        where="post",
        color=COLOURS[Role.BUYER],
        lw=2.6,
        label="grid load with P2P trading",
    )
    ax.step(
        hours,
        steps(day.grid_only_kw),
        where="post",
        color="black",
        lw=1.2,
        label="grid load, grid only (every buyer charges from the grid on arrival)",
    )
    for kw, colour, name in (
        (day.grid_only_kw, "black", "peak"),
        (day.with_p2p_kw, COLOURS[Role.BUYER], "peak"),
    ):
        k = int(kw.argmax())
        ax.annotate(
            f"{name} {kw[k]:.0f} kW",
            xy=(hours[k] + SLOT_MINUTES / 120, kw[k]),
            xytext=(10, 6),
            textcoords="offset points",
            color=colour,
            fontsize=9,
        )
    h = case.headline()
    ax.set_title(
        f"Parking-lot charging load on the grid: peak {h['peakGridOnlyKw']:.0f} kW → "
        f"{h['peakWithP2pKw']:.0f} kW with P2P (−{h['peakReductionPct']} %)\n{_subtitle(case)}",
        fontsize=10,
    )
    ax.set_xlabel("time of day (h)")
    ax.set_ylabel("power (kW, 15-minute mean)")
    ax.set_xlim(4, 22)
    ax.set_xticks(range(4, 23, 2))
    ax.set_ylim(0, max(day.grid_only_kw.max(), day.with_p2p_kw.max()) * 1.15)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return _finish(fig, path)


def soc_capacity(case: Case, path: Path) -> Path:
    s = case.settings
    fig, ax = plt.subplots(figsize=(8, 5.5))
    rng = np.random.default_rng(0)  # jitter only, so that EVs of one capacity do not overlap
    for role in (Role.BUYER, Role.SELLER, Role.NEUTRAL):
        evs = [ev for ev in case.fleet if ev.role is role]
        if not evs:
            continue
        x = np.array([ev.capacity_kwh for ev in evs]) + rng.uniform(-4, 4, len(evs))
        y = np.array([float(ev.soc_pct) for ev in evs])
        ax.scatter(x, y, s=22, color=COLOURS[role], alpha=0.8, label=f"{PLURAL[role]} ({len(evs)})")
    ax.axhline(s.buy_threshold_pct, color=COLOURS[Role.BUYER], ls="--", lw=1)
    ax.axhline(s.sell_threshold_pct, color=COLOURS[Role.SELLER], ls="--", lw=1)
    # Labels between the 60 and 80 kWh columns, where no point falls.
    ax.text(
        70,
        s.buy_threshold_pct - 1,
        f"T_b = {s.buy_threshold_pct} %: buyer below",
        color=COLOURS[Role.BUYER],
        fontsize=8,
        ha="center",
        va="top",
    )
    ax.text(
        70,
        s.sell_threshold_pct + 1,
        f"T_s = {s.sell_threshold_pct} %: seller above",
        color=COLOURS[Role.SELLER],
        fontsize=8,
        ha="center",
        va="bottom",
    )
    ax.set_xticks([40, 60, 80, 100])
    ax.set_xlim(32, 108)
    ax.set_ylim(20, 100)
    ax.set_xlabel("battery capacity (kWh; points spread ±4 kWh to stay apart)")
    ax.set_ylabel("state of charge on arrival (%)")
    ax.set_title(
        f"State of charge against battery capacity: role by threshold (eq. 1)\n{_subtitle(case)}",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower center", fontsize=9)
    return _finish(fig, path)


def energy_per_ev(case: Case, path: Path) -> Path:
    by_buyer = {b.ev_id: b for b in case.day.buyers}
    sold: dict[str, int] = {}
    for d in case.day.deliveries:
        sold[d.trade.seller] = sold.get(d.trade.seller, 0) + d.delivered_wh
    buyers = sorted(case.buyers, key=lambda ev: -ev.required_wh)
    sellers = sorted(case.sellers, key=lambda ev: -ev.available_wh)
    nb = len(buyers)
    xb = np.arange(nb)
    xs = np.arange(nb, nb + len(sellers))
    p2p = (
        np.array([by_buyer[ev.ev_id].p2p_wh if ev.ev_id in by_buyer else 0 for ev in buyers]) / 1000
    )
    grid = (
        np.array([by_buyer[ev.ev_id].grid_wh if ev.ev_id in by_buyer else 0 for ev in buyers])
        / 1000
    )
    out = np.array([sold.get(ev.ev_id, 0) for ev in sellers]) / 1000
    avail = np.array([ev.available_wh for ev in sellers]) / 1000
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.85 if nb + len(sellers) <= 200 else 1.0
    ax.bar(xb, p2p, width, color=COLOURS["p2p"], label="bought from EVs (P2P)")
    ax.bar(xb, grid, width, bottom=p2p, color=COLOURS["grid"], label="bought from the grid")
    ax.bar(
        xs,
        -avail,
        width,
        color="none",
        edgecolor=COLOURS[Role.SELLER],
        lw=0.6,
        label="available to sell (eq. 3)",
    )
    ax.bar(xs, -out, width, color=COLOURS[Role.SELLER], label="sold to EVs (P2P)")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(nb - 0.5, color="black", lw=0.6, ls=":")
    top = float((p2p + grid).max()) if nb else 1.0
    bottom = float(avail.max()) if len(sellers) else 1.0
    ax.text(nb / 2, top * 1.05, f"buyers ({nb})", ha="center", fontsize=9)
    ax.text(nb + len(sellers) / 2, top * 1.05, f"sellers ({len(sellers)})", ha="center", fontsize=9)
    ax.set_ylim(-bottom * 1.15, top * 1.15)
    ax.set_xlim(-1, nb + len(sellers))
    ax.set_xticks([])
    ax.set_xlabel("EVs (buyers by required energy, then sellers by available energy)")
    ax.set_ylabel("energy (kWh): bought > 0, sold < 0")
    h = case.headline()
    ax.set_title(
        f"Energy bought and sold per EV: {h['deliveredKwh']:.1f} kWh traded between EVs, "
        f"{h['trades']} trades\n{_subtitle(case)}",
        fontsize=10,
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=9)
    return _finish(fig, path)


def cost_buyers(case: Case, path: Path) -> Path:
    buyers = sorted(case.day.buyers, key=lambda b: -b.grid_only_eur)
    x = np.arange(len(buyers))
    grid_only = np.array([float(b.grid_only_eur) for b in buyers])
    p2p = np.array([float(b.p2p_eur) for b in buyers])
    grid = np.array([float(b.grid_eur) for b in buyers])
    fig, ax = plt.subplots(figsize=(11, 5))
    dense = len(buyers) > 120
    w = 0.5 if not dense else 1.0
    if dense:  # hundreds of buyers: the grid-only cost as a line over the stacked bars
        ax.bar(x, grid, w, color=COLOURS["grid"], label="with P2P: grid energy")
        ax.bar(x, p2p, w, bottom=grid, color=COLOURS["p2p"], label="with P2P: energy from EVs")
        ax.step(x, grid_only, where="mid", color="black", lw=1.2, label="grid only")
    else:
        ax.bar(x - w / 2, grid_only, w, color="black", alpha=0.75, label="grid only")
        ax.bar(x + w / 2, grid, w, color=COLOURS["grid"], label="with P2P: grid energy")
        ax.bar(
            x + w / 2, p2p, w, bottom=grid, color=COLOURS["p2p"], label="with P2P: energy from EVs"
        )
    h = case.headline()
    ax.set_title(
        f"Buyers' charging cost: {h['buyersGridOnlyEur']} € grid only → "
        f"{h['buyersWithP2pEur']} € with P2P (−{h['buyersSavingPct']} %); sellers earn "
        f"{h['sellersRevenueEur']} €\n{_subtitle(case)}",
        fontsize=10,
    )
    ax.set_xlabel(f"buyers ({len(buyers)}), by grid-only cost")
    ax.set_ylabel("cost (€)")
    ax.set_xticks([])
    ax.set_xlim(-1, len(buyers))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return _finish(fig, path)


def write_figures(case: Case, out: Path) -> list[Path]:
    return [
        load_profile(case, out / "load_profile.png"),
        soc_capacity(case, out / "soc_capacity.png"),
        energy_per_ev(case, out / "energy_per_ev.png"),
        cost_buyers(case, out / "cost_buyers.png"),
    ]
