"""The journey's figure: requested against delivered energy per activation, and what the
fleet drew around each set point."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
from matplotlib.patches import Patch  # noqa: E402

from simulations.journey.journey import Outcome  # noqa: E402

PASSED, SHORT, ASKED = "#2e7d32", "#c62828", "#90a4ae"


def _minute(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.hour * 60 + moment.minute


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def write_figure(outcome: Outcome, path: Path) -> Path:
    activations = sorted(outcome.activations, key=lambda a: str(a["start"]))
    n = max(len(activations), 1)
    fig = plt.figure(figsize=(max(11.0, 2.4 * n), 8.2), layout="constrained")
    grid = fig.add_gridspec(2, n, height_ratios=[1.0, 1.15])
    _windows(fig, grid, activations, outcome)
    _bars(fig.add_subplot(grid[1, :]), activations)
    fig.suptitle(
        f"Market journey of {outcome.chargers} EV chargers in {outcome.sites} car parks "
        f"(UVAM {outcome.uvam}, delivery day {outcome.period[3:13]})",
        fontsize=13,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _windows(fig: Any, grid: Any, activations: list[dict[str, Any]], outcome: Outcome) -> None:
    """Each set point: the aggregate's measured power, its baseline and the target it set."""
    shared = None  # each panel scales to its own activation: small ones stay readable
    for column, activation in enumerate(activations):
        ax = fig.add_subplot(grid[0, column])
        shared = shared or ax
        check = activation["verification"]
        start, end = _minute(activation["start"]), _minute(activation["end"])
        sent = _minute(activation["sentAt"])
        first = max(0, _minute(check["baselineStep"]["start"]) - 15)
        last = min(len(outcome.aggregate_kw), end + 30)
        minutes = list(range(first, last))
        ax.plot(
            minutes,
            [outcome.aggregate_kw[m] for m in minutes],
            color="#1565c0",
            lw=1.2,
            label="measured (60 s)",
        )
        baseline = check["baselineKw"]
        ax.hlines(baseline, start, end, colors="black", lw=1.4, label="baseline")
        ax.hlines(
            baseline - float(activation["power"]),
            start,
            end,
            colors="#ef6c00",
            linestyles="--",
            lw=1.4,
            label="baseline - request",
        )
        ax.axvspan(start, end, color="#ffe0b2", alpha=0.5, lw=0)
        b0 = _minute(check["baselineStep"]["start"])
        ax.axvspan(b0, b0 + 15, color="#e0e0e0", alpha=0.7, lw=0)
        ax.axvline(sent, color="grey", lw=0.8, ls=":")
        ticks = [t for t in range(first - first % 30 + 30, last, 30)]
        ax.set_xticks(ticks, [_hhmm(t) for t in ticks], fontsize=8)
        ax.set_xlim(first, last - 1)
        colour = PASSED if check["passed"] else SHORT
        ax.set_title(
            f"{_hhmm(start)}-{_hhmm(end)}: {activation['power']:g} kW up\n"
            f"{check['ratio']:.0%} delivered",
            fontsize=9,
            color=colour,
        )
        ax.tick_params(axis="y", labelsize=8)
        if column == 0:
            ax.set_ylabel("aggregate power (kW)")
    if shared is not None:
        handles, labels = shared.get_legend_handles_labels()
        handles += [
            Patch(color="#e0e0e0", label="baseline step"),
            Patch(color="#ffe0b2", label="activation"),
        ]
        labels += ["baseline step", "activation"]
        fig.legend(handles, labels, loc="outside lower center", ncols=5, fontsize=9)


def _bars(ax: Any, activations: list[dict[str, Any]]) -> None:
    labels = [f"{_hhmm(_minute(a['start']))}\n{a['durationMinutes']} min" for a in activations]
    x = range(len(activations))
    asked = [a["verification"]["requestedKwh"] for a in activations]
    delivered = [a["verification"]["deliveredKwh"] for a in activations]
    colours = [PASSED if a["verification"]["passed"] else SHORT for a in activations]
    ax.bar([i - 0.2 for i in x], asked, width=0.4, color=ASKED, label="requested")
    ax.bar([i + 0.2 for i in x], delivered, width=0.4, color=colours, label="delivered")
    for i, a in enumerate(activations):
        check = a["verification"]
        ax.plot(
            [i - 0.4, i + 0.4], [0.9 * check["requestedKwh"]] * 2, color="black", lw=0.8, ls=":"
        )
        ax.annotate(
            f"{check['ratio']:.0%}",
            (i + 0.2, check["deliveredKwh"]),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(list(x), labels, fontsize=9)
    ax.set_ylabel("energy (kWh)")
    ax.set_xlabel("activation (start, duration)")
    ax.set_title(
        "Requested vs delivered energy per activation, as the TSO verified them on the ledger "
        "(dotted: 90 % of the request, the pass mark)",
        fontsize=10,
    )
    ax.legend(
        handles=[
            Patch(color=ASKED, label="requested"),
            Patch(color=PASSED, label="delivered, passed"),
            Patch(color=SHORT, label="delivered, short"),
        ],
        fontsize=9,
        loc="upper left",
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(0, max(asked + delivered + [1.0]) * 1.15)
