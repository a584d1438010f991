"""The EV models the service knows: usable battery, on-board AC charging power, the power the car
can give back (0 without V2G), and its consumption on urban roads.

Figures are rounded nominal values from the makers' published data sheets; they are emulation
inputs, not measurements. A request names one of these models; the battery and powers it states
may be lower than the model's (an aged battery, a limited wallbox) but never higher.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleModel:
    name: str
    battery_kwh: float
    charge_kw: float
    discharge_kw: float  # 0: the model cannot give energy back
    consumption_kwh_per_km: float
    fleet_share: float  # share of the emulated fleet (sums to 1 over the catalogue)


CATALOGUE: dict[str, VehicleModel] = {
    m.name: m
    for m in (
        VehicleModel("Fiat 500e", 37.3, 11.0, 0.0, 0.14, 0.18),
        VehicleModel("Tesla Model 3", 57.5, 11.0, 0.0, 0.15, 0.15),
        VehicleModel("Peugeot e-208", 46.3, 11.0, 0.0, 0.15, 0.13),
        VehicleModel("Renault Zoe", 52.0, 22.0, 0.0, 0.16, 0.12),
        VehicleModel("Volkswagen ID.3", 58.0, 11.0, 11.0, 0.16, 0.12),
        VehicleModel("Dacia Spring", 26.8, 6.6, 0.0, 0.13, 0.12),
        VehicleModel("Renault 5 E-Tech", 52.0, 11.0, 11.0, 0.15, 0.10),
        VehicleModel("Nissan Leaf", 39.0, 6.6, 6.6, 0.16, 0.08),
    )
}

MODEL_NAMES: tuple[str, ...] = tuple(CATALOGUE)
