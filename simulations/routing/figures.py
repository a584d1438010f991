"""The comparison's figures (PNG, matplotlib's Agg backend): loading of each transformer and of
the most loaded line over the horizon, the EVs' charging power, and the headline bars."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: E402

from simulations.routing.comparison import LABEL, Comparison  # noqa: E402
from simulations.routing.model import STEP_HOURS  # noqa: E402

COLOURS = {"none": "#888888", "nearest": "#d62728", "cheapest": "#1f77b4"}


def _time_axis(ax: plt.Axes, start_hour: float) -> None:
    def fmt(x: float, _pos: int) -> str:
        h = (start_hour + x) % 24
        return f"{int(h):02d}:00"

    ax.xaxis.set_major_locator(MultipleLocator(3))
    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    ax.grid(True, alpha=0.3)


def _hours(cmp: Comparison) -> np.ndarray:
    return cmp.horizon.hours() + STEP_HOURS / 2


def plot_transformers(cmp: Comparison, path: Path) -> Path:
    names = cmp.base.trafo_names
    x = _hours(cmp)
    start = cmp.horizon.start.hour + cmp.horizon.start.minute / 60
    fig, axes = plt.subplots(len(names), 1, figsize=(10, 2.6 * len(names) + 0.8), sharex=True)
    for i, (ax, name) in enumerate(zip(np.atleast_1d(axes), names, strict=True)):
        ax.plot(
            x,
            cmp.base.trafo_loading_pct[i],
            color=COLOURS["none"],
            ls="--",
            lw=1.2,
            label=LABEL["none"],
        )
        for p, o in cmp.outcomes.items():
            assert o.run is not None
            ax.plot(x, o.run.trafo_loading_pct[i], color=COLOURS[p], lw=1.4, label=LABEL[p])
        ax.axhline(100, color="black", lw=0.8)
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_ylabel("loading (%)")
        ax.set_ylim(
            0,
            max(
                110,
                float(
                    np.nanmax(
                        [
                            o.run.trafo_loading_pct[i].max()
                            for o in cmp.outcomes.values()
                            if o.run is not None
                        ]
                    )
                )
                + 10,
            ),
        )
        _time_axis(ax, start)
    axes[0].legend(loc="upper left", fontsize=9, ncol=3)
    axes[-1].set_xlabel(f"time of day ({cmp.day:%d %b %Y} 06:00 to the next day 12:00, Rome)")
    fig.suptitle(f"MV/LV transformer loading, {cmp.evs} EVs: nearest charger vs routing service")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_lines_and_power(cmp: Comparison, path: Path) -> Path:
    x = _hours(cmp)
    start = cmp.horizon.start.hour + cmp.horizon.start.minute / 60
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.6), sharex=True)
    ax1.plot(
        x,
        cmp.base.line_loading_pct.max(axis=0),
        color=COLOURS["none"],
        ls="--",
        lw=1.2,
        label=LABEL["none"],
    )
    for p, o in cmp.outcomes.items():
        assert o.run is not None
        ax1.plot(x, o.run.line_loading_pct.max(axis=0), color=COLOURS[p], lw=1.4, label=LABEL[p])
        total = np.sum(list(o.ev_kw.values()), axis=0)
        ax2.plot(x, total, color=COLOURS[p], lw=1.4, label=LABEL[p])
    ax1.axhline(100, color="black", lw=0.8)
    ax1.set_ylabel("loading (%)")
    ax1.set_title("most loaded LV cable section", loc="left", fontsize=10)
    ax1.legend(loc="upper left", fontsize=9, ncol=3)
    ax2.axhline(0, color="black", lw=0.6)
    ax2.set_ylabel("power (kW)")
    ax2.set_title("EV charging power, all clusters (below 0: V2G)", loc="left", fontsize=10)
    ax2.legend(loc="upper left", fontsize=9)
    for ax in (ax1, ax2):
        _time_axis(ax, start)
    ax2.set_xlabel(f"time of day ({cmp.day:%d %b %Y} 06:00 to the next day 12:00, Rome)")
    fig.suptitle(f"LV lines and EV charging, {cmp.evs} EVs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_headline(cmp: Comparison, path: Path) -> Path:
    s = cmp.summary()
    names = list(s["no_evs"]["transformers"])
    short = [n.split(" ", 1)[0] for n in names] + ["lines (max)"]
    series = {
        "none": [s["no_evs"]["transformers"][n]["peak_loading_pct"] for n in names]
        + [s["no_evs"]["peak_line_loading_pct"]],
        **{
            p: [s[p]["grid"]["transformers"][n]["peak_loading_pct"] for n in names]
            + [s[p]["grid"]["peak_line_loading_pct"]]
            for p in ("nearest", "cheapest")
        },
    }
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    w = 0.26
    xs = np.arange(len(short))
    for j, (p, vals) in enumerate(series.items()):
        bars = ax1.bar(xs + (j - 1) * w, vals, w, color=COLOURS[p], label=LABEL[p])
        ax1.bar_label(bars, fmt="%.0f", fontsize=8)
    ax1.axhline(100, color="black", lw=0.8)
    ax1.set_xticks(xs, short)
    ax1.set_ylabel("peak loading (%)")
    ax1.set_ylim(0, max(120, max(max(v) for v in series.values()) + 12))
    ax1.set_title("peak loading over the horizon", loc="left", fontsize=10)
    ax1.legend(loc="upper left", fontsize=8, ncol=3)
    per_kwh = [s[p]["drivers"]["cost_eur_per_net_kwh"] for p in ("nearest", "cheapest")]
    bars = ax2.bar([0, 1], per_kwh, 0.6, color=[COLOURS["nearest"], COLOURS["cheapest"]])
    ax2.bar_label(bars, fmt="%.3f", fontsize=9)
    ax2.set_xticks([0, 1], [LABEL["nearest"], LABEL["cheapest"]])
    ax2.set_ylabel("EUR per net kWh")
    ax2.set_ylim(0, max(per_kwh) * 1.25)
    ax2.set_title("drivers' cost", loc="left", fontsize=10)
    fig.suptitle(f"{cmp.evs} EVs on {cmp.day:%d %b %Y}: peaks and drivers' cost")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(cmp: Comparison, out: Path) -> list[Path]:
    return [
        plot_headline(cmp, out / "headline.png"),
        plot_transformers(cmp, out / "transformer_loading.png"),
        plot_lines_and_power(cmp, out / "lines_and_ev_power.png"),
    ]
