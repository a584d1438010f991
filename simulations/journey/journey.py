"""The market journey of an EV fleet, phase by phase, through the connectors of the sandbox.

BSP 1 registers its car parks (PODs) and chargers, the TSO pre-validates and the DSO validates
them; the BSP forms a UVAM of the car parks that the TSO qualifies. On a demo clock (the day
runs in minutes), the BSP offers the fleet's forecast availability for each 15-minute step of
the day; the TSO accepts after the gate and activates it several times; the fleet answers as
`response.py` says; the BSP uploads a day of 60 s series of the aggregate and of every
charger, the DSO those of the car parks' PODs; the TSO verifies each activation and issues the
day's settlement statement.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from connector.client import ApiFailure, ConnectorClient
from simulations.journey import api
from simulations.journey.fleet import MINUTES, Site, build_fleet, uncontrolled
from simulations.journey.response import Dispatch, SetPoint, respond

CHANNEL = "bsp1-channel"
PRICE_EUR_MWH = 180.0
# The BSP offers 80 % of the charging it forecasts for a step, or for either of the two steps
# before it if lower: the verification's baseline is taken up to half an hour earlier, and a
# fleet whose load is rising could not show more response than it drew then.
OFFER_SHARE = 0.8
FORECAST_ERROR = 0.10  # ... a forecast with a 10 % error (standard deviation) per step
QUALIFIED_SHARE = 0.6  # the UVAM's qualified power up: 60 % of its chargers' power
# the TSO's set points: (start HH:MM, minutes, lead minutes); power 75 % of what is offered
PLAN = (
    ("07:45", 30, 10),
    ("09:30", 45, 15),
    ("12:15", 30, 5),
    ("15:00", 45, 12),
    ("18:30", 30, 8),
    ("20:00", 60, 15),
)
ACTIVATED_SHARE = 0.75
BSP_EIC = "10XIT-BSP-ALFA-U"
ARETI_EIC = "10XIT-ARETI----C"
PDF = b"%PDF-1.7\n% single-line diagram of the car park\n"


@dataclass
class Phase:
    name: str
    seconds: float
    outcome: str
    transactions: int = 0


@dataclass
class Outcome:
    """What the journey produced, for the summary and the figure."""

    run: str
    period: str
    uvam: str
    chargers: int
    sites: int
    phases: list[Phase] = field(default_factory=list)
    offer: dict[str, Any] = field(default_factory=dict)
    activations: list[dict[str, Any]] = field(default_factory=list)
    dispatches: list[Dispatch] = field(default_factory=list)
    statement: dict[str, Any] = field(default_factory=dict)
    aggregate_kw: list[float] = field(default_factory=list)
    series: int = 0
    series_bytes: int = 0


def _clock(day: date, minute: int) -> str:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minute)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _minute(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class Journey:
    def __init__(
        self,
        chargers: int,
        seed: int,
        day: date,
        say: Callable[[str], None],
        clients: dict[str, ConnectorClient] | None = None,
    ) -> None:
        """``clients`` of "bsp1", "tso" and "areti"; by default the sandbox's, logged in with
        their demo log-ins."""
        self.day = day
        self.seed = seed
        self.say = say
        self.run = secrets.token_hex(3)  # ids of this run: the sandbox may hold earlier runs
        self.tally = api.Tally()
        self.sites: list[Site] = build_fleet(chargers, seed, self.run)
        self._own = clients is None  # clients it logged in itself, it also closes
        if clients is None:
            clients = {org: ConnectorClient.for_org(org) for org in ("bsp1", "tso", "areti")}
        self.bsp, self.tso, self.dso = clients["bsp1"], clients["tso"], clients["areti"]
        self.out = Outcome(
            run=self.run,
            period=f"MP-{day.isoformat()}-{self.run}",
            uvam=f"UVAM-ROMA-EV-{self.run}",
            chargers=chargers,
            sites=len(self.sites),
        )

    def close(self) -> None:
        if self._own:
            for client in (self.bsp, self.tso, self.dso):
                client.close()

    @contextmanager
    def phase(self, name: str) -> Iterator[list[str]]:
        self.say(f"{name} ...")
        started, before = time.monotonic(), self.tally.count
        outcome: list[str] = []
        yield outcome
        seconds = time.monotonic() - started
        text = "; ".join(outcome)
        transactions = self.tally.count - before
        self.out.phases.append(Phase(name, seconds, text, transactions))
        noun = "transaction" if transactions == 1 else "transactions"
        self.say(f"{name}: {text} ({transactions} ledger {noun}, {seconds:.1f} s)")

    def _one(
        self,
        client: ConnectorClient,
        what: str,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One write, waited for, counted in the phase's transactions."""
        return api.one(client, what, method, path, body, tally=self.tally, params=params)

    def run_all(self) -> Outcome:
        self.register()
        self.qualify()
        self.bid()
        self.activate()
        self.deliver()
        self.verify()
        self.settle()
        return self.out

    # -- registration -------------------------------------------------------------------------

    def _pod(self, site: Site) -> dict[str, Any]:
        chargers = site.charger_power_kw
        return {
            "meteringPointId": site.pod,
            "resourceName": site.name,
            "locationId": site.location,
            "direction": "consumption",
            "contractedPower": round(chargers + 40.0, 1),
            "maximumFlexUp": round(chargers, 1),
            "maximumFlexDown": round(chargers / 2, 1),
            "gridVoltageLevel": "LV",
            "distributionGridOperatorName": ARETI_EIC,
            "startDateTime": "2026-01-01T00:00:00Z",
        }

    def register(self) -> None:
        with self.phase("registration") as outcome:
            batch = api.Batch(self.bsp, "registration", self.tally)
            for site in self.sites:
                batch.send("POST", "/pods", self._pod(site))
                for charger in site.chargers:
                    batch.send(
                        "POST",
                        f"/pods/{site.pod}/devices",
                        {
                            "resourceId": charger.id,
                            "deviceType": "EVSE",
                            "resourceName": f"{site.name}, charger {charger.id[-2:]}",
                            "direction": "consumption",
                            "contractedPower": charger.power_kw,
                            "maximumFlexUp": charger.power_kw,
                            "maximumFlexDown": charger.power_kw,
                            "startDateTime": "2026-01-01T00:00:00Z",
                        },
                    )
                batch.send("POST", f"/pods/{site.pod}/attachments", _diagram("site"))
                batch.send("PATCH", f"/pods/{site.pod}/status", {"status": "UnderReview"})
            batch.wait()
            outcome.append(
                f"{len(self.sites)} PODs and {self.out.chargers} chargers registered by the BSP"
            )
            self._decide(self.tso, "UnderReview", "PreValidated", "the TSO's review")
            self._decide(self.dso, "PreValidated", "Validated", "the DSO's validation")
            outcome.append("pre-validated by the TSO, validated by Areti")

    def _decide(self, client: ConnectorClient, seen: str, target: str, what: str) -> None:
        for site in self.sites:
            api.until(partial(_is, client, f"/pods/{site.pod}", seen), what)
        batch = api.Batch(client, what, self.tally)
        for site in self.sites:
            batch.send("PATCH", f"/pods/{site.pod}/status", {"status": target})
        batch.wait()

    def qualify(self) -> None:
        uvam = self.out.uvam
        power = sum(s.charger_power_kw for s in self.sites)
        up, down = round(QUALIFIED_SHARE * power), round(0.3 * power)
        with self.phase("qualification") as outcome:
            for site in self.sites:
                api.until(partial(_is, self.bsp, f"/pods/{site.pod}", "Validated"), "POD")
            batch = api.Batch(self.bsp, "the UVAM", self.tally)
            batch.send(
                "POST",
                "/uvams",
                {
                    "resourceGroupId": uvam,
                    "technicalFlexibilityServiceProviderId": "10YIT-GRTN-----B",
                    "type": "UVAM",
                    "name": f"Rome EV car parks ({self.out.chargers} chargers)",
                    "perimeter": "Centro-Sud",
                    "maximumQualifiedPower": float(up),
                    "minimumQualifiedPower": float(down),
                    "marketType": "MSD",
                    "period": str(self.day.year),
                    "startDateTime": "2026-01-01T00:00:00Z",
                },
            )
            for site in self.sites:
                batch.send("POST", f"/uvams/{uvam}/resources", {"resource": site.pod})
            batch.send("POST", f"/uvams/{uvam}/attachments", _diagram("aggregate"))
            batch.send(
                "POST",
                f"/uvams/{uvam}/connection",
                {
                    "externalDocumentId": "connection.xml",
                    "type": "IEC-104",
                    "manufacturer": "ABB",
                    "ipAddress": "10.20.30.40",
                    "fullScaleMin": -float(up),
                    "fullScaleMax": float(up),
                },
            )
            batch.send("PATCH", f"/uvams/{uvam}/status", {"status": "UnderReview"})
            batch.wait()
            api.until(lambda: _status(self.tso, f"/uvams/{uvam}") == "UnderReview", "the UVAM")
            done = self._one(
                self.tso, "qualification", "PATCH", f"/uvams/{uvam}/status", {"status": "Qualified"}
            )
            rule = " (below the 1 MW market minimum: demo rule)" if max(up, down) < 1000 else ""
            outcome.append(
                f"UVAM {uvam} of {len(self.sites)} car parks qualified by the TSO for {up} kW up "
                f"and {down} kW down{rule}"
            )
            self.qualified_up = float(done["result"]["maximumQualifiedPower"])

    # -- bidding ------------------------------------------------------------------------------

    def forecast(self) -> np.ndarray:
        """The BSP's forecast of its chargers' power per 15-minute step (kW), with its error."""
        rng = np.random.default_rng(self.seed + 17)
        total = sum((uncontrolled(c) for s in self.sites for c in s.chargers), np.zeros(MINUTES))
        steps = total.reshape(96, 15).mean(axis=1)
        return np.asarray(steps * rng.normal(1.0, FORECAST_ERROR, 96).clip(0.5, 1.5))

    def bid(self) -> None:
        day, period = self.day, self.out.period
        eve = day - timedelta(days=1)
        with self.phase("bidding") as outcome:
            self._one(
                self.tso,
                "the market period",
                "POST",
                "/market/periods",
                {
                    "periodId": period,
                    "deliveryStart": _clock(day, 0),
                    "deliveryEnd": _clock(day, MINUTES),
                    "gateClosure": _clock(eve, 12 * 60),
                    "clock": "demo",
                    "demoTime": _clock(eve, 10 * 60),
                },
                params={"channel": CHANNEL},
            )
            api.until(lambda: _status(self.bsp, f"/market/periods/{period}") == "Open", "period")
            forecast = self.forecast()
            earlier = np.minimum(np.roll(forecast, 1), np.roll(forecast, 2))
            earlier[:2] = forecast[:2]
            lowest = np.minimum(forecast, earlier)
            quantities = np.floor(np.minimum(lowest * OFFER_SHARE, self.qualified_up) * 10) / 10
            offer = self._one(
                self.bsp,
                "the offer",
                "POST",
                "/market/offers",
                {
                    "periodId": period,
                    "resourceGroupId": self.out.uvam,
                    "direction": "up",
                    "quantities": [
                        {"position": n, "quantity": float(q)}
                        for n, q in enumerate(quantities, start=1)
                    ],
                    "price": {"amount": PRICE_EUR_MWH, "currency": "EUR"},
                },
            )
            offer_id = offer["resourceId"]
            self.quantities = quantities
            api.until(lambda: _status(self.tso, f"/market/offers/{offer_id}"), "the offer")
            self._clock(_clock(eve, 12 * 60))
            self._one(
                self.tso,
                "acceptance",
                "PATCH",
                f"/market/offers/{offer_id}/status",
                {"status": "Accepted"},
            )
            self.out.offer = {"id": offer_id, "quantitiesKw": [float(q) for q in quantities]}
            outcome.append(
                f"offer {offer_id}: up to {quantities.max():.0f} kW up per step "
                f"({quantities.sum() / 4:.0f} kWh over the day) at {PRICE_EUR_MWH:g} EUR/MWh, "
                "accepted by the TSO after the gate"
            )

    def _clock(self, moment: str) -> None:
        self._one(
            self.tso,
            "the demo clock",
            "PUT",
            f"/market/periods/{self.out.period}/clock",
            {"demoTime": moment},
        )

    # -- activation ---------------------------------------------------------------------------

    def activate(self) -> None:
        self.setpoints: list[SetPoint] = []
        with self.phase("activation") as outcome:
            for start_text, minutes, lead in PLAN:
                start = _minute(start_text)
                steps = range(start // 15, (start + minutes) // 15)
                power = float(np.floor(ACTIVATED_SHARE * min(self.quantities[s] for s in steps)))
                if power < 1:
                    continue  # nothing offered then: the TSO does not activate
                self._clock(_clock(self.day, start - lead))
                op = self._one(
                    self.tso,
                    "activation",
                    "POST",
                    "/market/activations",
                    {
                        "offerId": self.out.offer["id"],
                        "start": _clock(self.day, start),
                        "durationMinutes": minutes,
                        "power": power,
                    },
                )
                activation = op["resourceId"]
                api.until(
                    partial(_status, self.bsp, f"/market/activations/{activation}"),
                    "the activation at the BSP",
                )
                self._one(
                    self.bsp,
                    "acknowledgement",
                    "PATCH",
                    f"/market/activations/{activation}/status",
                    {"status": "Acknowledged"},
                )
                self.setpoints.append(
                    SetPoint(activation, start - lead, start, start + minutes, power)
                )
            outcome.append(
                f"{len(self.setpoints)} set points sent by the TSO, 5 to 15 minutes ahead, and "
                "acknowledged by the BSP"
            )

    # -- delivery and measurements ------------------------------------------------------------

    def deliver(self) -> None:
        with self.phase("delivery and measurements") as outcome:
            measured, self.out.dispatches = respond(self.sites, self.setpoints, self.seed)
            ignored = sum(d.ignored for d in self.out.dispatches)
            stopped = sum(d.selected - d.ignored for d in self.out.dispatches)
            outcome.append(f"{stopped} charging sessions paused, {ignored} ignored the set point")
            self._clock(_clock(self.day, MINUTES))
            aggregate = sum(measured.values(), np.zeros(MINUTES))
            self.out.aggregate_kw = [round(float(v), 3) for v in aggregate]
            bsp = api.Batch(self.bsp, "the BSP's measurements", self.tally)
            dso = api.Batch(self.dso, "the DSO's measurements", self.tally)
            path = "/market/measurements"
            bsp.send("POST", path, self._upload(self.out.uvam, "aggregate", aggregate))
            for site in self.sites:
                for charger in site.chargers:
                    bsp.send("POST", path, self._upload(charger.id, "device", measured[charger.id]))
            for site in self.sites:
                at_pod = site.base_load_kw + sum(measured[c.id] for c in site.chargers)
                dso.send("POST", path, self._upload(site.pod, "pod", at_pod))
            anchored = bsp.wait() + dso.wait()
            sizes = [int(op["result"]["size"]) for op in anchored]
            self.out.series = len(anchored)
            self.out.series_bytes = sum(sizes)
            outcome.append(
                f"{len(anchored)} series of a day at 60 s (the aggregate, {self.out.chargers} "
                f"chargers, {len(self.sites)} PODs; {sum(sizes) / 1e6:.1f} MB) uploaded, kept "
                "off-chain and anchored by their SHA-256 and energy per step"
            )

    def _upload(self, resource: str, scope: str, kw: np.ndarray) -> dict[str, Any]:
        start = _clock(self.day, 0)[:16] + "Z"
        end = _clock(self.day, MINUTES)[:16] + "Z"
        return {
            "periodId": self.out.period,
            "resourceGroupId": self.out.uvam,
            "scope": scope,
            "resource": resource,
            "series": {
                "mRID": f"{self.out.period}-{resource}",
                "registeredResource.mRID": resource,
                "Period": {
                    "timeInterval": {"start": start, "end": end},
                    "resolution": "PT1M",
                    "Point": [
                        {"position": n, "quantity": round(float(v), 3)}
                        for n, v in enumerate(kw, start=1)
                    ],
                },
            },
        }

    # -- verification and settlement ----------------------------------------------------------

    def verify(self) -> None:
        with self.phase("verification") as outcome:
            batch = api.Batch(self.tso, "verification", self.tally)
            for point in self.setpoints:
                batch.send("POST", f"/market/activations/{point.activation_id}/verification")
            verified = batch.wait()
            self.out.activations = [
                {**op["result"], "verification": op["result"]["verification"]} for op in verified
            ]
            passed = sum(1 for a in self.out.activations if a["verification"]["passed"])
            outcome.append(
                f"{len(verified)} activations verified against their baselines: {passed} passed "
                f"(at least 90 % delivered), {len(verified) - passed} fell short"
            )

    def settle(self) -> None:
        with self.phase("settlement") as outcome:
            op = self._one(
                self.tso,
                "the statement",
                "POST",
                "/market/statements",
                {"periodId": self.out.period, "flexibilityServiceProviderId": BSP_EIC},
            )
            statement_id = op["resourceId"]
            api.until(
                lambda: _status(self.bsp, f"/market/statements/{statement_id}"),
                "the statement at the BSP",
            )
            self.out.statement = self.bsp.get(f"/market/statements/{statement_id}")["statement"]
            totals = self.out.statement["totals"]
            outcome.append(
                f"statement {statement_id}: {totals['remuneration']:.2f} EUR earned, "
                f"{totals['penalty']:.2f} EUR penalties, {totals['amount']:.2f} EUR due to the "
                "BSP (read by the BSP; no DSO can)"
            )


def _status(client: ConnectorClient, path: str) -> str | None:
    try:
        found: dict[str, Any] = client.get(path)
    except ApiFailure:
        return None
    return found.get("status")


def _is(client: ConnectorClient, path: str, status: str) -> bool:
    return _status(client, path) == status


def _diagram(what: str) -> dict[str, Any]:
    return {
        "externalDocumentId": f"{what}-single-line-diagram.pdf",
        "documentType": "SingleLineDiagram",
        "documentFile": base64.b64encode(PDF).decode(),
    }
