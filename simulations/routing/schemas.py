"""The routing API's request and answer, with every bound the service enforces.

A request that breaks a bound is refused with 422 and one entry per broken rule, each naming the
field (`loc`) and the rule (`msg`). An answer always comes with 200, including when no charger is
in reach or the demand cannot be met: its `status` says which, and why.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from simulations.routing.vehicles import CATALOGUE

MAX_STAY = timedelta(hours=24)
MAX_RADIUS_KM = 50.0


class _In(BaseModel):
    # NaN and infinity are not numbers a driver can mean; unknown fields are typos
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Vehicle(_In):
    model: str = Field(description="an EV model the service knows (GET /v1/vehicles)")
    battery_kwh: float | None = Field(
        default=None, gt=0, le=200, description="usable battery; default and maximum: the model's"
    )
    charge_kw: float | None = Field(
        default=None,
        gt=0,
        le=350,
        description="charging power the car takes; default and maximum: the model's",
    )
    discharge_kw: float | None = Field(
        default=None,
        ge=0,
        le=350,
        description="V2G power the car gives; default and maximum: the model's",
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in CATALOGUE:
            raise ValueError(
                f"{value!r} is not a known EV model; known models: " + ", ".join(sorted(CATALOGUE))
            )
        return value

    @field_validator("battery_kwh", "charge_kw", "discharge_kw")
    @classmethod
    def _within_model(cls, value: float | None, info: ValidationInfo) -> float | None:
        spec = CATALOGUE.get(info.data.get("model", ""))
        if value is None or spec is None:
            return value
        limit = getattr(spec, str(info.field_name))
        if value > limit + 1e-9:
            raise ValueError(f"{value:g} exceeds the {spec.name}'s {limit:g}")
        return value

    @property
    def capacity(self) -> float:
        return (
            self.battery_kwh if self.battery_kwh is not None else CATALOGUE[self.model].battery_kwh
        )

    @property
    def max_charge(self) -> float:
        return self.charge_kw if self.charge_kw is not None else CATALOGUE[self.model].charge_kw

    @property
    def max_discharge(self) -> float:
        spec = CATALOGUE[self.model].discharge_kw
        return self.discharge_kw if self.discharge_kw is not None else spec


class Position(_In):
    lat: float = Field(ge=-90, le=90, description="latitude, degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, degrees")


class RoutingRequest(_In):
    vehicle: Vehicle
    position: Position = Field(description="where the EV is now")
    soc_percent: float = Field(ge=0, le=100, description="state of charge now, %")
    target_soc_percent: float = Field(
        ge=0, le=100, description="state of charge wanted at departure, %"
    )
    search_centre: Position | None = Field(
        default=None, description="centre of the search area; default: the position"
    )
    radius_km: float = Field(gt=0, le=MAX_RADIUS_KM, description="search radius, km")
    arrival: AwareDatetime = Field(description="when the EV plugs in (ISO 8601 with offset)")
    departure: AwareDatetime = Field(description="when it leaves (ISO 8601 with offset)")
    v2g: bool = Field(default=False, description="the driver consents to giving energy back (V2G)")
    v2g_energy_kwh: float = Field(
        default=0.0, ge=0, description="most energy the car may give back during the stay, kWh"
    )
    accept_partial: bool = Field(
        default=False, description="reserve the best partial charge when the target cannot be met"
    )
    policy: Literal["cheapest", "nearest"] = Field(
        default="cheapest",
        description="cheapest: the service's choice and schedule; nearest: the nearest free "
        "charger, charging at full power from arrival (the reference without the service)",
    )

    @field_validator("target_soc_percent")
    @classmethod
    def _target_not_below_soc(cls, value: float, info: ValidationInfo) -> float:
        soc = info.data.get("soc_percent")
        if soc is not None and value < soc:
            raise ValueError(
                f"{value:g} is below soc_percent {soc:g}: the target must be at least the "
                "current state of charge"
            )
        return value

    @field_validator("departure")
    @classmethod
    def _after_arrival(cls, value: datetime, info: ValidationInfo) -> datetime:
        arrival = info.data.get("arrival")
        if arrival is None:
            return value
        if value <= arrival:
            raise ValueError(f"{value.isoformat()} is not after arrival {arrival.isoformat()}")
        if value - arrival > MAX_STAY:
            raise ValueError(
                f"the stay from arrival lasts {value - arrival}; at most {MAX_STAY} is served"
            )
        return value

    @field_validator("v2g")
    @classmethod
    def _car_can_give_back(cls, value: bool, info: ValidationInfo) -> bool:
        vehicle = info.data.get("vehicle")
        if value and vehicle is not None and vehicle.max_discharge <= 0:
            raise ValueError(
                f"V2G asked, but the {vehicle.model} gives no energy back (discharge_kw 0)"
            )
        return value

    @field_validator("v2g_energy_kwh")
    @classmethod
    def _v2g_energy_bounds(cls, value: float, info: ValidationInfo) -> float:
        if value > 0 and info.data.get("v2g") is False:
            raise ValueError(f"{value:g} kWh of V2G without consent: set v2g to true, or 0 here")
        vehicle = info.data.get("vehicle")
        if vehicle is not None and value > vehicle.capacity + 1e-9:
            raise ValueError(
                f"{value:g} kWh exceeds what the battery holds ({vehicle.capacity:g} kWh)"
            )
        return value

    @property
    def centre(self) -> Position:
        return self.search_centre if self.search_centre is not None else self.position


Status = Literal["reserved", "no_charger_in_radius", "no_charger_free", "infeasible"]


class ClusterOut(BaseModel):
    id: str
    name: str
    lat: float
    lon: float
    distance_km: float = Field(description="from the search centre")
    transformer: str


class ChargerOut(BaseModel):
    id: str
    power_kw: float


class SlotOut(BaseModel):
    start: datetime
    price_eur_per_kwh: float = Field(description="charging price in this slot")
    v2g_price_eur_per_kwh: float = Field(description="what a kWh given back earns in this slot")
    charge_kw: float
    discharge_kw: float
    soc_percent: float = Field(description="state of charge at the end of the slot")


class RoutingAnswer(BaseModel):
    status: Status
    message: str
    clusters_in_radius: int = Field(
        default=0, description="clusters within the radius of the search centre"
    )
    clusters_considered: int = Field(
        default=0, description="of those, the ones with a free charger the battery can reach"
    )
    reservation_id: str | None = None
    cluster: ClusterOut | None = None
    charger: ChargerOut | None = None
    arrival_soc_percent: float | None = Field(
        default=None, description="on plugging in, after the drive"
    )
    final_soc_percent: float | None = None
    energy_charged_kwh: float = 0.0
    energy_v2g_kwh: float = 0.0
    cost_eur: float = 0.0
    shortfall_kwh: float = Field(
        default=0.0, description="energy the stay cannot deliver to the target"
    )
    nearest_charger_km: float | None = Field(
        default=None,
        description="distance from the search centre to the nearest charger, when none is in the radius",
    )
    schedule: list[SlotOut] = Field(
        default_factory=list, description="five-minute slots of the stay"
    )


class ReservationOut(BaseModel):
    id: str
    cluster_id: str
    charger_id: str
    start: datetime
    end: datetime
    cost_eur: float
    energy_charged_kwh: float
    energy_v2g_kwh: float


class ChargerInfo(BaseModel):
    id: str
    power_kw: float


class ClusterInfo(BaseModel):
    id: str
    name: str
    lat: float
    lon: float
    elements: list[str]
    chargers: list[ChargerInfo]


class VehicleInfo(BaseModel):
    model: str
    battery_kwh: float
    charge_kw: float
    discharge_kw: float


class PriceSeries(BaseModel):
    cluster_id: str
    start: datetime
    step_minutes: int
    prices_eur_per_kwh: list[float]
