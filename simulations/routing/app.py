"""The routing service's HTTP API (FastAPI): `create_app(service)`.

    POST   /v1/requests                 a driver's request -> answer (and a reservation)
    GET    /v1/reservations[/{id}]      what is held;  DELETE /v1/reservations/{id} frees it
    GET    /v1/clusters                 the CPO sites, their chargers and grid elements
    GET    /v1/clusters/{id}/prices     the smart-bidding price of every slot, as of now
    GET    /v1/vehicles                 the EV models the service knows
    GET    /healthz

Errors: bad input 422 with one entry per broken rule (`loc` names the field, `msg` the rule);
an unknown reservation or cluster 404; nothing else is expected, and anything else is a 500
that says so without internals (the traceback goes to the log once).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from simulations.routing.model import STEP_HOURS, STEP_MINUTES
from simulations.routing.schemas import (
    ChargerInfo,
    ClusterInfo,
    PriceSeries,
    ReservationOut,
    RoutingAnswer,
    RoutingRequest,
    VehicleInfo,
)
from simulations.routing.service import RequestError, RoutingService
from simulations.routing.store import Reservation, UnknownReservation
from simulations.routing.vehicles import CATALOGUE

log = logging.getLogger(__name__)


def _entry(loc: tuple[Any, ...] | list[Any], msg: str, kind: str) -> dict[str, Any]:
    path = [str(p) for p in loc if p != "body"]
    field = ".".join(path) or "body"
    msg = msg.removeprefix("Value error, ")
    return {"loc": list(loc), "field": field, "msg": f"{field}: {msg}", "type": kind}


def get_service(request: Request) -> RoutingService:
    svc: RoutingService = request.app.state.service
    return svc


Service = Annotated[RoutingService, Depends(get_service)]


def create_app(service: RoutingService) -> FastAPI:
    app = FastAPI(
        title="EV routing (DSO)",
        description="Where to charge, at what price, on what schedule: smart bidding on the "
        "DSO's transformer forecasts and a mixed-integer choice of charger and schedule.",
        version="1.0",
    )
    app.state.service = service

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # the input is not echoed back: a rule and a field say enough, and big inputs stay out
        detail = [
            _entry(e.get("loc", ()), str(e.get("msg", "")), str(e.get("type", "")))
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(RequestError)
    async def _refused(_: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": [_entry(("body", exc.field), exc.message, "value_error")]},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        return JSONResponse(
            status_code=500, content={"detail": "the routing service failed on this request"}
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/requests", response_model=RoutingAnswer)
    def post_request(body: RoutingRequest, svc: Service) -> RoutingAnswer:
        return svc.answer(body)

    @app.get("/v1/reservations", response_model=list[ReservationOut])
    def list_reservations(svc: Service) -> list[ReservationOut]:
        return [_reservation_out(svc, r) for r in svc.store.all()]

    @app.get("/v1/reservations/{reservation_id}", response_model=ReservationOut)
    def get_reservation(reservation_id: str, svc: Service) -> ReservationOut:
        try:
            return _reservation_out(svc, svc.store.get(reservation_id))
        except UnknownReservation:
            raise HTTPException(404, f"reservation {reservation_id} does not exist") from None

    @app.delete("/v1/reservations/{reservation_id}", response_model=ReservationOut)
    def cancel_reservation(reservation_id: str, svc: Service) -> ReservationOut:
        try:
            return _reservation_out(svc, svc.cancel(reservation_id))
        except UnknownReservation:
            raise HTTPException(404, f"reservation {reservation_id} does not exist") from None

    @app.get("/v1/clusters", response_model=list[ClusterInfo])
    def clusters(svc: Service) -> list[ClusterInfo]:
        return [
            ClusterInfo(
                id=c.id,
                name=c.name,
                lat=c.lat,
                lon=c.lon,
                elements=list(c.element_ids),
                chargers=[ChargerInfo(id=ch.id, power_kw=ch.power_kw) for ch in c.chargers],
            )
            for c in svc.grid.clusters
        ]

    @app.get("/v1/clusters/{cluster_id}/prices", response_model=PriceSeries)
    def prices(cluster_id: str, svc: Service) -> PriceSeries:
        try:
            cluster = svc.grid.cluster(cluster_id)
        except KeyError:
            raise HTTPException(404, f"cluster {cluster_id} does not exist") from None
        return PriceSeries(
            cluster_id=cluster_id,
            start=svc.grid.horizon.start,
            step_minutes=STEP_MINUTES,
            prices_eur_per_kwh=[round(float(p), 5) for p in svc.current_prices(cluster)],
        )

    @app.get("/v1/vehicles", response_model=list[VehicleInfo])
    def vehicles() -> list[VehicleInfo]:
        return [
            VehicleInfo(
                model=m.name,
                battery_kwh=m.battery_kwh,
                charge_kw=m.charge_kw,
                discharge_kw=m.discharge_kw,
            )
            for m in CATALOGUE.values()
        ]

    return app


def _reservation_out(svc: RoutingService, r: Reservation) -> ReservationOut:
    h = svc.grid.horizon
    return ReservationOut(
        id=r.id,
        cluster_id=r.cluster_id,
        charger_id=r.charger_id,
        start=h.slot_start(r.first_step),
        end=h.slot_start(r.end_step),
        cost_eur=round(r.cost_eur, 4),
        energy_charged_kwh=round(float(r.charge_kw.sum()) * STEP_HOURS, 4),
        energy_v2g_kwh=round(float(r.discharge_kw.sum()) * STEP_HOURS, 4),
    )
