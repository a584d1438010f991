"""A residential portion of Rome's LV grid in pandapower, and its power flow over the horizon.

One 20 kV bus (the primary substation's feeder, an external grid) supplies three MV/LV secondary
substations (250, 400 and 630 kVA, pandapower's standard 20/0.4 kV types); each feeds two or three
LV cable feeders (NAYY 4x150 SE, buses 60 m apart) with apartment buildings on every bus, and
charger clusters (CPO sites) on some buses. The layout is stylised, not Areti's network: it has
the features the study is about (public chargers concentrated on a few feeders and transformers).

`RomeGrid.run()` solves an AC power flow per five-minute slot, with the household load of
`profiles.py` and the chargers' net power at their buses; `RomeGrid.model()` turns the run without
EVs into the DSO's forecast that the routing service prices on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandapower as pp

from simulations.routing.model import Charger, Cluster, Element, FloatArray, GridModel, Horizon
from simulations.routing.profiles import HOUSEHOLD_PEAK_KW, HOUSEHOLD_POWER_FACTOR, household_share

CABLE = "NAYY 4x150 SE"
BUS_SPACING_KM = 0.06
LV_KV = 0.4
# the DSO's upper limit on active power: 95 % of the rating leaves room for reactive power
LIMIT_SHARE = 0.95


@dataclass(frozen=True)
class FeederSpec:
    buses: int
    households_per_bus: int
    bearing_deg: float  # direction the feeder runs from its substation


@dataclass(frozen=True)
class SubstationSpec:
    id: str
    name: str
    lat: float
    lon: float
    trafo_type: str
    feeders: tuple[FeederSpec, ...]


@dataclass(frozen=True)
class ClusterSpec:
    id: str
    name: str
    substation: str
    feeder: int  # index into the substation's feeders
    bus: int  # 1 = the first bus after the substation
    charger_kw: tuple[float, ...]


SUBSTATIONS: tuple[SubstationSpec, ...] = (
    SubstationSpec(
        "SS1", "SS1 Via Ozanam", 41.8731, 12.4521, "0.4 MVA 20/0.4 kV",
        (FeederSpec(6, 18, 20.0), FeederSpec(6, 18, 200.0)),
    ),
    SubstationSpec(
        "SS2", "SS2 Via Jenner", 41.8690, 12.4600, "0.63 MVA 20/0.4 kV",
        (FeederSpec(6, 20, 60.0), FeederSpec(6, 20, 150.0), FeederSpec(6, 20, 290.0)),
    ),
    SubstationSpec(
        "SS3", "SS3 Via Donna Olimpia", 41.8662, 12.4512, "0.25 MVA 20/0.4 kV",
        (FeederSpec(5, 15, 230.0), FeederSpec(5, 15, 120.0)),
    ),
)  # fmt: skip

CLUSTERS: tuple[ClusterSpec, ...] = (
    ClusterSpec("C1", "Piazza Rosolino Pilo", "SS1", 0, 6, (22.0, 22.0, 11.0, 11.0)),
    ClusterSpec("C2", "Via Ozanam 40", "SS1", 1, 4, (22.0, 22.0)),
    ClusterSpec("C3", "Largo Ravizza", "SS2", 0, 6, (22.0, 22.0, 11.0, 11.0)),
    ClusterSpec("C4", "Via Jenner 80", "SS2", 1, 3, (11.0, 11.0, 7.4, 7.4)),
    ClusterSpec("C5", "Circonvallazione Gianicolense", "SS2", 2, 6, (22.0, 22.0)),
    ClusterSpec("C6", "Piazza Donna Olimpia", "SS3", 0, 5, (22.0, 22.0, 11.0, 11.0)),
    ClusterSpec("C7", "Via Vitellia 30", "SS3", 1, 3, (22.0, 22.0)),
)


def spread_clusters(n: int, chargers_per_cluster: int = 4) -> tuple[ClusterSpec, ...]:
    """`n` clusters spread over every feeder's buses (for the benchmark's 20 clusters in range)."""
    deepest = max(f.buses for ss in SUBSTATIONS for f in ss.feeders)
    # far ends first, one feeder after another, so the clusters spread over every feeder
    slots = [
        (ss.id, f_i, bus)
        for bus in range(deepest, 0, -1)
        for ss in SUBSTATIONS
        for f_i, feeder in enumerate(ss.feeders)
        if bus <= feeder.buses
    ]
    if n > len(slots):
        raise ValueError(f"at most {len(slots)} clusters fit on the grid's buses, asked {n}")
    powers = (22.0, 22.0, 11.0, 11.0, 7.4, 7.4)
    return tuple(
        ClusterSpec(
            f"B{i + 1:02d}",
            f"site {i + 1} ({ss} feeder {f + 1} bus {b})",
            ss,
            f,
            b,
            tuple(powers[j % len(powers)] for j in range(chargers_per_cluster)),
        )
        for i, (ss, f, b) in enumerate(slots[:n])
    )


@dataclass(frozen=True)
class GridRun:
    """Per-slot results of a power-flow run (rows: elements, columns: slots)."""

    trafo_names: list[str]
    trafo_loading_pct: FloatArray
    line_names: list[str]
    line_loading_pct: FloatArray
    element_kw: dict[str, FloatArray]  # active power through each element
    min_vm_pu: FloatArray  # lowest bus voltage per slot


def _offset(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    b = math.radians(bearing_deg)
    dlat = km * math.cos(b) / 111.32
    dlon = km * math.sin(b) / (111.32 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


class RomeGrid:
    def __init__(
        self,
        substations: tuple[SubstationSpec, ...] = SUBSTATIONS,
        clusters: tuple[ClusterSpec, ...] = CLUSTERS,
    ) -> None:
        self.substations = substations
        self.cluster_specs = clusters
        net = pp.create_empty_network(name="Rome residential LV portion")
        mv = pp.create_bus(net, 20.0, name="MV 20 kV")
        pp.create_ext_grid(net, mv, vm_pu=1.0)
        self.households: list[tuple[int, int]] = []  # (load index, households)
        self.bus_at: dict[tuple[str, int, int], int] = {}
        self.bus_position: dict[int, tuple[float, float]] = {}
        self.trafo_of: dict[str, int] = {}
        self.head_line_of: dict[tuple[str, int], int] = {}
        for ss in substations:
            lv = pp.create_bus(net, LV_KV, name=f"{ss.id} LV busbar")
            self.bus_position[lv] = (ss.lat, ss.lon)
            self.trafo_of[ss.id] = pp.create_transformer(net, mv, lv, ss.trafo_type, name=ss.name)
            for f_i, feeder in enumerate(ss.feeders):
                prev = lv
                for b in range(1, feeder.buses + 1):
                    lat, lon = _offset(ss.lat, ss.lon, feeder.bearing_deg, b * BUS_SPACING_KM)
                    bus = pp.create_bus(net, LV_KV, name=f"{ss.id} F{f_i + 1} bus {b}")
                    self.bus_position[bus] = (lat, lon)
                    self.bus_at[(ss.id, f_i, b)] = bus
                    line = pp.create_line(
                        net,
                        prev,
                        bus,
                        BUS_SPACING_KM,
                        CABLE,
                        name=f"{ss.id} F{f_i + 1} {b - 1}-{b}",
                    )
                    if b == 1:
                        self.head_line_of[(ss.id, f_i)] = line
                    load = pp.create_load(
                        net, bus, p_mw=0.0, q_mvar=0.0, name=f"{ss.id} F{f_i + 1} homes {b}"
                    )
                    self.households.append((load, feeder.households_per_bus))
                    prev = bus
        self.ev_load: dict[str, int] = {}
        for c in clusters:
            bus = self.bus_at[(c.substation, c.feeder, c.bus)]
            self.ev_load[c.id] = pp.create_load(net, bus, p_mw=0.0, name=f"chargers {c.id}")
        self.net = net

    # ---- the service's view ------------------------------------------------------------------

    def element_ids(self) -> list[str]:
        return [ss.id for ss in self.substations] + [
            f"{ss.id}-F{f + 1}" for ss in self.substations for f in range(len(ss.feeders))
        ]

    def limits_kw(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for ss in self.substations:
            sn_kva = float(self.net.trafo.at[self.trafo_of[ss.id], "sn_mva"]) * 1000.0
            out[ss.id] = LIMIT_SHARE * sn_kva
            for f in range(len(ss.feeders)):
                i_ka = float(self.net.line.at[self.head_line_of[(ss.id, f)], "max_i_ka"])
                out[f"{ss.id}-F{f + 1}"] = LIMIT_SHARE * math.sqrt(3) * LV_KV * i_ka * 1000.0
        return out

    def clusters(self) -> tuple[Cluster, ...]:
        out = []
        for c in self.cluster_specs:
            lat, lon = self.bus_position[self.bus_at[(c.substation, c.feeder, c.bus)]]
            out.append(
                Cluster(
                    id=c.id,
                    name=c.name,
                    lat=lat,
                    lon=lon,
                    element_ids=(c.substation, f"{c.substation}-F{c.feeder + 1}"),
                    chargers=tuple(
                        Charger(f"{c.id}-{j + 1}", kw) for j, kw in enumerate(c.charger_kw)
                    ),
                    bus=self.bus_at[(c.substation, c.feeder, c.bus)],
                )
            )
        return tuple(out)

    def model(
        self, horizon: Horizon, progress: Callable[[int, int], None] | None = None
    ) -> GridModel:
        """The DSO's forecast through every element (a power flow without EVs) and the limits."""
        run = self.run(horizon, {}, progress)
        limits = self.limits_kw()
        kinds = {ss.id: "transformer" for ss in self.substations}
        names = {ss.id: ss.name for ss in self.substations}
        elements = {
            e: Element(
                id=e,
                kind=kinds.get(e, "line"),
                name=names.get(e, f"feeder {e} head"),
                limit_kw=limits[e],
                forecast_kw=run.element_kw[e],
            )
            for e in self.element_ids()
        }
        return GridModel(horizon=horizon, elements=elements, clusters=self.clusters())

    def household_positions(self) -> list[tuple[float, float]]:
        return [self.bus_position[b] for b in self.bus_at.values()]

    # ---- power flow --------------------------------------------------------------------------

    def run(
        self,
        horizon: Horizon,
        ev_kw: Mapping[str, FloatArray],
        progress: Callable[[int, int], None] | None = None,
    ) -> GridRun:
        """An AC power flow per slot: homes on the profile, each cluster's net EV power at its bus."""
        net = self.net
        share = household_share(horizon)
        tan_phi = math.tan(math.acos(HOUSEHOLD_POWER_FACTOR))
        load_idx = np.array([i for i, _ in self.households])
        homes = np.array([n for _, n in self.households], dtype=np.float64)
        trafo_rows = [self.trafo_of[ss.id] for ss in self.substations]
        n_t = horizon.steps
        trafo = np.zeros((len(trafo_rows), n_t))
        lines = np.zeros((len(net.line), n_t))
        min_vm = np.zeros(n_t)
        el = {e: np.zeros(n_t) for e in self.element_ids()}
        for c in self.cluster_specs:
            series = ev_kw.get(c.id)
            if series is not None and series.shape != (n_t,):
                raise ValueError(f"EV power of {c.id}: {series.shape[0]} values for {n_t} slots")
        for t in range(n_t):
            p_mw = homes * HOUSEHOLD_PEAK_KW * share[t] / 1000.0
            net.load.loc[load_idx, "p_mw"] = p_mw
            net.load.loc[load_idx, "q_mvar"] = p_mw * tan_phi
            for cid, row in self.ev_load.items():
                series = ev_kw.get(cid)
                net.load.at[row, "p_mw"] = float(series[t]) / 1000.0 if series is not None else 0.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runpp(net, numba=False, init="results" if t else "auto")
            trafo[:, t] = net.res_trafo.loc[trafo_rows, "loading_percent"].to_numpy()
            lines[:, t] = net.res_line["loading_percent"].to_numpy()
            min_vm[t] = float(net.res_bus["vm_pu"].min())
            for ss in self.substations:
                el[ss.id][t] = float(net.res_trafo.at[self.trafo_of[ss.id], "p_hv_mw"]) * 1000.0
                for f in range(len(ss.feeders)):
                    line = self.head_line_of[(ss.id, f)]
                    el[f"{ss.id}-F{f + 1}"][t] = float(net.res_line.at[line, "p_from_mw"]) * 1000.0
            if progress is not None:
                progress(t + 1, n_t)
        return GridRun(
            trafo_names=[ss.name for ss in self.substations],
            trafo_loading_pct=trafo,
            line_names=list(net.line["name"]),
            line_loading_pct=lines,
            element_kw=el,
            min_vm_pu=min_vm,
        )
