"""The routing service: from a driver's request to an answer and, when it is one, a reservation.

Steps: the reachable clusters (within the radius of the search centre); at each, the charger the
EV would take (among the free ones, the least powerful that meets the demand in the stay, else the
most powerful) and the energy left on arrival after the drive; the smart-bidding prices from the
DSO's forecast and the schedules already committed; then either the mixed-integer program
(`policy="cheapest"`, the service) or the nearest free charger charging at full power from arrival
(`policy="nearest"`, what a driver does without the service). Pricing, solving and reserving run
under one lock, so each request sees every schedule committed before it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from simulations.routing.model import (
    STEP_HOURS,
    STEP_MINUTES,
    Charger,
    Cluster,
    FloatArray,
    GridModel,
    distance_km,
)
from simulations.routing.optimizer import Candidate, Problem, solve
from simulations.routing.pricing import PricingRule, TouTariff, cluster_prices
from simulations.routing.schemas import (
    ChargerOut,
    ClusterOut,
    RoutingAnswer,
    RoutingRequest,
    SlotOut,
)
from simulations.routing.store import Reservation, ReservationStore
from simulations.routing.vehicles import CATALOGUE

log = logging.getLogger(__name__)

ROAD_DETOUR = 1.3  # road distance over straight-line distance in a dense city grid
V2G_FLOOR_SOC = 0.2  # V2G never takes a battery below this share (nor below its arrival level)
EPS = 1e-6


class RequestError(ValueError):
    """A request that passed the schema's checks but not the service's (e.g. outside the horizon)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class _Option:
    cluster: Cluster
    distance_km: float
    charger: Charger
    charge_kw: float
    discharge_kw: float
    arrival_kwh: float
    reach_kwh: float  # the most the battery can hold at departure here


def choose_charger(
    free: list[Charger], vehicle_kw: float, need_kwh: float, stay_h: float
) -> Charger | None:
    """Among free chargers, the least powerful that delivers `need_kwh` in the stay, else the
    most powerful (the EV takes at most `vehicle_kw` from any of them)."""
    if not free:
        return None
    by_power = sorted(free, key=lambda c: (c.power_kw, c.id))
    for c in by_power:
        if min(c.power_kw, vehicle_kw) * stay_h >= need_kwh - EPS:
            return c
    return max(by_power, key=lambda c: (c.power_kw, c.id))


class RoutingService:
    def __init__(
        self,
        grid: GridModel,
        tariff: TouTariff | None = None,
        rule: PricingRule | None = None,
        solver_time_limit_s: float = 5.0,
    ) -> None:
        self.grid = grid
        self.tariff = tariff or TouTariff()
        self.rule = rule or PricingRule()
        self.store = ReservationStore(grid)
        self.tou = self.tariff.prices(grid.horizon)
        self._tou_max = float(self.tou.max())
        self._forecast = {e.id: e.forecast_kw for e in grid.elements.values()}
        self._limits = {e.id: e.limit_kw for e in grid.elements.values()}
        self._solver_time_limit_s = solver_time_limit_s
        self._lock = threading.Lock()

    # ---- prices ----------------------------------------------------------------------------

    def prices(self, cluster: Cluster) -> FloatArray:
        """The cluster's charging price in every slot of the horizon, as a request would see it now."""
        committed = {e: self.store.committed_kw(e) for e in cluster.element_ids}
        return cluster_prices(
            self.tou,
            cluster.element_ids,
            self._forecast,
            committed,
            self._limits,
            self.rule,
            self._tou_max,
        )

    def current_prices(self, cluster: Cluster) -> FloatArray:
        with self._lock:
            return self.prices(cluster)

    def cancel(self, reservation_id: str) -> Reservation:
        with self._lock:
            return self.store.cancel(reservation_id)

    # ---- answering -------------------------------------------------------------------------

    def answer(self, req: RoutingRequest) -> RoutingAnswer:
        first, end = self._slots(req)
        with self._lock:
            return self._answer(req, first, end)

    def _slots(self, req: RoutingRequest) -> tuple[int, int]:
        h = self.grid.horizon
        first = h.step_at_or_after(req.arrival)
        end = h.step_at_or_before(req.departure)
        if first < 0 or first >= h.steps:
            raise RequestError(
                "arrival",
                f"{req.arrival.isoformat()} is outside the service's horizon "
                f"{h.start.isoformat()} to {h.end.isoformat()}",
            )
        if end > h.steps:
            raise RequestError(
                "departure",
                f"{req.departure.isoformat()} is after the end of the service's horizon "
                f"{h.end.isoformat()}",
            )
        if end <= first:
            raise RequestError(
                "departure",
                f"the stay holds no whole {STEP_MINUTES}-minute slot between arrival and departure",
            )
        return first, end

    def _answer(self, req: RoutingRequest, first: int, end: int) -> RoutingAnswer:
        centre = req.centre
        dists = [(distance_km(centre.lat, centre.lon, c.lat, c.lon), c) for c in self.grid.clusters]
        in_radius = sorted(
            ((d, c) for d, c in dists if d <= req.radius_km), key=lambda dc: (dc[0], dc[1].id)
        )
        if not in_radius:
            nearest = min(d for d, _ in dists) if dists else None
            return RoutingAnswer(
                status="no_charger_in_radius",
                message=(
                    f"no charger within {req.radius_km:g} km of the search centre; the nearest is "
                    f"{nearest:.2f} km away"
                    if nearest is not None
                    else "the service has no charger"
                ),
                nearest_charger_km=round(nearest, 3) if nearest is not None else None,
            )
        options = self._options(req, in_radius, first, end)
        if not options:
            return RoutingAnswer(
                status="no_charger_free",
                clusters_in_radius=len(in_radius),
                message=(
                    f"all {sum(len(c.chargers) for _, c in in_radius)} chargers within "
                    f"{req.radius_km:g} km are held during the stay, or out of the battery's reach"
                ),
            )
        considered = len(options)
        cap = req.vehicle.capacity
        target = req.target_soc_percent / 100.0 * cap
        best_reach = max(o.reach_kwh for o in options)
        shortfall = max(0.0, target - best_reach)
        if shortfall > EPS:
            target = best_reach
            options = [o for o in options if o.reach_kwh >= best_reach - EPS]
        if req.policy == "nearest":
            answer = self._nearest(req, options, first, end, target, shortfall)
        else:
            answer = self._cheapest(req, options, first, end, target, shortfall)
        answer.clusters_in_radius = len(in_radius)
        answer.clusters_considered = considered
        return answer

    def _options(
        self,
        req: RoutingRequest,
        in_radius: list[tuple[float, Cluster]],
        first: int,
        end: int,
    ) -> list[_Option]:
        v = req.vehicle
        spec = CATALOGUE[v.model]
        cap = v.capacity
        stay_h = (end - first) * STEP_HOURS
        out: list[_Option] = []
        for d, cluster in in_radius:
            drive = ROAD_DETOUR * distance_km(
                req.position.lat, req.position.lon, cluster.lat, cluster.lon
            )
            arrival_kwh = req.soc_percent / 100.0 * cap - spec.consumption_kwh_per_km * drive
            if arrival_kwh < 0:
                continue
            free = [c for c in cluster.chargers if not self.store.charger_busy(c.id, first, end)]
            need = req.target_soc_percent / 100.0 * cap - arrival_kwh
            charger = choose_charger(free, v.max_charge, need, stay_h)
            if charger is None:
                continue
            p = min(charger.power_kw, v.max_charge)
            dis = min(charger.power_kw, v.max_discharge) if req.v2g else 0.0
            reach = min(cap, arrival_kwh + p * stay_h)
            out.append(_Option(cluster, d, charger, p, dis, arrival_kwh, reach))
        return out

    def _cheapest(
        self,
        req: RoutingRequest,
        options: list[_Option],
        first: int,
        end: int,
        target: float,
        shortfall: float,
    ) -> RoutingAnswer:
        cap = req.vehicle.capacity
        prices = [self.prices(o.cluster)[first:end] for o in options]
        problem = Problem(
            candidates=[
                Candidate(
                    key=o.cluster.id,
                    price=p,
                    charge_kw=o.charge_kw,
                    discharge_kw=o.discharge_kw,
                    arrival_kwh=o.arrival_kwh,
                    floor_kwh=min(o.arrival_kwh, V2G_FLOOR_SOC * cap),
                )
                for o, p in zip(options, prices, strict=True)
            ],
            steps=end - first,
            capacity_kwh=cap,
            target_kwh=max(target - 1e-7, 0.0),  # the reach itself, up to the solver's tolerance
            v2g_kwh=req.v2g_energy_kwh if req.v2g else 0.0,
            v2g_share=self.rule.v2g_share,
        )
        plan = solve(problem, self._solver_time_limit_s)
        if plan is None:  # every option can reach the target by construction; say so if not
            raise RuntimeError("no schedule met bounds that the options' reach said were met")
        o = options[plan.index]
        return self._finish(
            req, o, first, end, prices[plan.index], plan.charge_kw, plan.discharge_kw, shortfall
        )

    def _nearest(
        self,
        req: RoutingRequest,
        options: list[_Option],
        first: int,
        end: int,
        target: float,
        shortfall: float,
    ) -> RoutingAnswer:
        o = min(options, key=lambda x: (x.distance_km, x.cluster.id))
        steps = end - first
        charge = np.zeros(steps)
        left = max(0.0, target - o.arrival_kwh)
        for t in range(steps):
            if left <= EPS:
                break
            kw = min(o.charge_kw, left / STEP_HOURS)
            charge[t] = kw
            left -= kw * STEP_HOURS
        # without the service the driver pays the CPO's time-of-use tariff
        prices = self.tou[first:end]
        # plugging in and charging is what the reference driver does, met or not
        return self._finish(req, o, first, end, prices, charge, np.zeros(steps), shortfall, True)

    def _finish(
        self,
        req: RoutingRequest,
        o: _Option,
        first: int,
        end: int,
        prices: FloatArray,
        charge: FloatArray,
        discharge: FloatArray,
        shortfall: float,
        accept_partial: bool = False,
    ) -> RoutingAnswer:
        cap = req.vehicle.capacity
        share = self.rule.v2g_share
        energy = o.arrival_kwh + np.concatenate(
            ([0.0], np.cumsum(STEP_HOURS * (charge - discharge)))
        )
        cost = float(STEP_HOURS * np.sum(prices * (charge - share * discharge)))
        horizon = self.grid.horizon
        slots = [
            SlotOut(
                start=horizon.slot_start(first + t),
                price_eur_per_kwh=round(float(prices[t]), 5),
                v2g_price_eur_per_kwh=round(float(prices[t]) * share, 5),
                charge_kw=round(float(charge[t]), 4),
                discharge_kw=round(float(discharge[t]), 4),
                soc_percent=round(float(energy[t + 1]) / cap * 100.0, 3),
            )
            for t in range(end - first)
        ]
        reserve = shortfall <= EPS or req.accept_partial or accept_partial
        reservation_id = None
        if reserve:
            res = Reservation(
                id=self.store.new_id(),
                cluster_id=o.cluster.id,
                charger_id=o.charger.id,
                first_step=first,
                end_step=end,
                charge_kw=charge,
                discharge_kw=discharge,
                cost_eur=cost,
                created=datetime.now(UTC),
            )
            self.store.add(res)
            reservation_id = res.id
        if shortfall > EPS:
            short = (
                f"the target cannot be met in the stay: {shortfall:.2f} kWh short; the best "
                f"charge reaches {energy[-1] / cap * 100:.1f} %"
            )
            message = short + (
                " and is reserved" if reserve else "; resend with accept_partial to reserve it"
            )
        else:
            message = f"charger {o.charger.id} at {o.cluster.name} reserved"
        return RoutingAnswer(
            status="reserved" if reserve else "infeasible",
            message=message,
            reservation_id=reservation_id,
            cluster=ClusterOut(
                id=o.cluster.id,
                name=o.cluster.name,
                lat=o.cluster.lat,
                lon=o.cluster.lon,
                distance_km=round(o.distance_km, 3),
                transformer=o.cluster.element_ids[0],
            ),
            charger=ChargerOut(id=o.charger.id, power_kw=o.charger.power_kw),
            arrival_soc_percent=round(o.arrival_kwh / cap * 100.0, 3),
            final_soc_percent=round(float(energy[-1]) / cap * 100.0, 3),
            energy_charged_kwh=round(float(np.sum(charge)) * STEP_HOURS, 4),
            energy_v2g_kwh=round(float(np.sum(discharge)) * STEP_HOURS, 4),
            cost_eur=round(cost, 4),
            shortfall_kwh=round(shortfall, 4),
            schedule=slots,
        )
