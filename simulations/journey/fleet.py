"""The EV fleet of one delivery day on a portion of Areti's grid in Rome, minute by minute.

Chargers sit in car parks, about ten to a car park; each car park is a POD on Areti's LV grid
(distributor code 002) in the south of Rome. Every draw comes from the seeded generator, so
the same seed gives the same day. The distributions (times in UTC, the delivery day's clock):

* **charger power**: 22 kW (40 %), 11 kW (40 %), 7.4 kW (20 %), AC;
* **sessions per charger**: a commuter (probability 0.6) arrives N(08:30, 40 min) within
  06:30-11:00 and leaves N(17:30, 60 min) within arrival + 2 h and 21:00; a visitor
  (probability 0.5) arrives uniformly between 10:00 and 16:00 if the charger is free and stays a
  log-normal time (median 1.5 h, sigma 0.5, 20 min to 5 h); a resident (probability 0.5)
  arrives N(19:30, 60 min) within 17:00-23:30, after any earlier car has left, and stays
  past midnight;
* **battery**: 40 (20 %), 58 (35 %), 77 (30 %) or 100 kWh (15 %); state of charge on arrival
  uniform 15-60 %, wanted uniform 80-100 %; the car's on-board charger takes 11 kW (70 %) or
  22 kW (30 %);
* **charging without the market**: at the lower of the charger's and the car's power from
  arrival until the car has what it wants or leaves;
* **car park's own load** (the POD's other consumers): 8 kW at night rising to 25 kW at midday
  (a cosine), plus 3 % noise per minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MINUTES = 1440
CHARGERS_PER_SITE = 10
CHARGER_POWERS = ((22.0, 0.4), (11.0, 0.4), (7.4, 0.2))
BATTERIES = ((40.0, 0.20), (58.0, 0.35), (77.0, 0.30), (100.0, 0.15))
ONBOARD = ((11.0, 0.7), (22.0, 0.3))
# car parks of the grid portion: (name, locationId)
SITES = (
    ("Parcheggio Ostiense", "Roma-Ostiense"),
    ("Garbatella Mercato", "Roma-Garbatella"),
    ("Piazzale dei Partigiani", "Roma-Ostiense"),
    ("Via Laurentina", "Roma-EUR"),
    ("EUR Palazzo dei Congressi", "Roma-EUR"),
    ("San Paolo Basilica", "Roma-San-Paolo"),
    ("Marconi Stazione Trastevere", "Roma-Marconi"),
    ("Testaccio Mattatoio", "Roma-Testaccio"),
    ("Piramide Cestia", "Roma-Aventino"),
    ("Tor Marancia", "Roma-Tor-Marancia"),
    ("Eur Fermi", "Roma-EUR"),
    ("Laurentino 38", "Roma-Laurentino"),
)


@dataclass
class Session:
    """One car's stay at a charger: minutes of the day, energy wanted, power it charges at."""

    arrival: int
    departure: int  # may pass MINUTES: the car stays past midnight
    energy_kwh: float
    power_kw: float


@dataclass
class Charger:
    id: str
    power_kw: float
    sessions: list[Session] = field(default_factory=list)


@dataclass
class Site:
    pod: str
    name: str
    location: str
    chargers: list[Charger]
    base_load_kw: np.ndarray  # the car park's own load, per minute

    @property
    def charger_power_kw(self) -> float:
        return sum(c.power_kw for c in self.chargers)


def _pick(rng: np.random.Generator, table: tuple[tuple[float, float], ...]) -> float:
    values, weights = zip(*table, strict=True)
    return float(rng.choice(values, p=np.array(weights) / sum(weights)))


def _clip_normal(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> int:
    return int(min(max(rng.normal(mean, sd), lo), hi))


def _energy(rng: np.random.Generator) -> float:
    battery = _pick(rng, BATTERIES)
    arrival_soc, wanted_soc = rng.uniform(0.15, 0.60), rng.uniform(0.80, 1.00)
    return battery * (wanted_soc - arrival_soc)


def _sessions(rng: np.random.Generator, charger_kw: float) -> list[Session]:
    def power() -> float:
        return min(charger_kw, _pick(rng, ONBOARD))

    stays: list[tuple[int, int]] = []
    if rng.random() < 0.6:  # a commuter
        arrive = _clip_normal(rng, 510, 40, 390, 660)
        stays.append((arrive, _clip_normal(rng, 1050, 60, arrive + 120, 1260)))
    if rng.random() < 0.5:  # a visitor, if the charger is free
        arrive = int(rng.uniform(600, 960))
        dwell = int(min(max(math.exp(rng.normal(math.log(90), 0.5)), 20), 300))
        if all(arrive >= leave + 10 or arrive + dwell + 10 <= come for come, leave in stays):
            stays.append((arrive, arrive + dwell))
    if rng.random() < 0.5:  # a resident, after any earlier car has left
        earliest = max([leave + 15 for _, leave in stays], default=0)
        arrive = max(_clip_normal(rng, 1170, 60, 1020, 1410), earliest)
        if arrive < MINUTES - 15:
            stays.append((arrive, MINUTES + 600))
    stays.sort()
    return [Session(a, d, _energy(rng), power()) for a, d in stays]


def base_load(rng: np.random.Generator) -> np.ndarray:
    minutes = np.arange(MINUTES)
    shape = 16.5 - 8.5 * np.cos(2 * np.pi * (minutes - 0) / MINUTES)  # 8 kW at 00:00, 25 at 12:00
    return np.asarray(shape * (1 + 0.03 * rng.standard_normal(MINUTES)), dtype=float)


def pod_code(run: str, n: int) -> str:
    """A POD code of Areti (distributor 002) unique to this run and car park."""
    digits = int.from_bytes(f"{run}:{n}".encode(), "big") % 10**8
    return f"IT002E{digits:08d}"


def build_fleet(chargers: int, seed: int, run: str) -> list[Site]:
    """``chargers`` chargers in car parks of about ten, with the day's sessions."""
    rng = np.random.default_rng(seed)
    sites = []
    count = math.ceil(chargers / CHARGERS_PER_SITE)
    for n in range(count):
        name, location = SITES[n % len(SITES)]
        if n >= len(SITES):
            name = f"{name} {n // len(SITES) + 1}"
        pod = pod_code(run, n)
        size = chargers // count + (1 if n < chargers % count else 0)
        site_chargers = []
        for k in range(1, size + 1):
            kw = _pick(rng, CHARGER_POWERS)
            site_chargers.append(Charger(f"{pod}-EVSE-{k:02d}", kw, _sessions(rng, kw)))
        sites.append(Site(pod, name, location, site_chargers, base_load(rng)))
    return sites


def charge(session: Session, held: np.ndarray | None = None) -> np.ndarray:
    """The session's charging power per minute of the day; ``held`` (0..1 per minute) scales
    the power the car may take (1: all of it, 0: none), and charging goes on later to make up
    for it while the car stays."""
    out = np.zeros(MINUTES)
    left = session.energy_kwh
    for minute in range(session.arrival, min(session.departure, MINUTES)):
        if left <= 1e-9:
            break
        factor = 1.0 if held is None else float(held[minute])
        kw = min(session.power_kw * factor, left * 60)
        out[minute] = kw
        left -= kw / 60
    return out


def uncontrolled(charger: Charger) -> np.ndarray:
    """The charger's power per minute with no set point at all."""
    total = np.zeros(MINUTES)
    for session in charger.sessions:
        total += charge(session)
    return total
