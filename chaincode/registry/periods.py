"""Market periods: the TSO opens a delivery period of 15-minute steps and sets its gate.

A period's clock says what "now" is for its rules (gate, lead time, window ended):

- ``ledger``: the transaction's own time, for real use;
- ``demo``: a time the TSO sets and moves only forward (``AdvanceMarketClock``), recorded on the
  ledger like any other change, so that a sandbox demo runs a delivery day in minutes. The seed's
  demo runs off-market in a sandbox; every other rule is the same for both clocks.
"""

from __future__ import annotations

from typing import Any

from . import lifecycle
from .errors import AlreadyExists, InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import MARKET_PERIOD, Tx, page_result
from .market_models import ClockIn, GateIn, MarketPeriodIn
from .markettime import (
    ClockMode,
    MarketPeriodStatus,
    market_now,
    parse,
    steps_between,
    text,
)
from .models import record_of
from .participants import resolve

ENTITY = lifecycle.MARKET_PERIOD


def load(tx: Tx, period_id: str) -> dict[str, Any]:
    record = tx.get(MARKET_PERIOD, period_id)
    if record is None:
        raise NotFound(f"market period {period_id} is not open on this channel")
    return record


def gate_open(tx: Tx, period: dict[str, Any]) -> bool:
    return market_now(tx, period) < parse(period["gateClosure"])


@lifecycle.guard(ENTITY, "gate closure ahead")
def _gate_ahead(tx: Tx, record: dict[str, Any]) -> None:
    now = market_now(tx, record)
    if parse(record["gateClosure"]) <= now:
        raise InvalidArgument(
            f"market period {record['periodId']}: gateClosure {record['gateClosure']} is not "
            f"ahead of the market time {text(now)}"
        )


def open_period(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx)
    request = build(MarketPeriodIn, data, label_of("market period", data, "periodId"))
    period_id = request.periodId or f"MP-{request.deliveryStart[:16]}"
    row = lifecycle.creation(ENTITY)
    lifecycle.authorize(row, period_id, tx.require_actor(), "")
    if tx.get(MARKET_PERIOD, period_id) is not None:
        raise AlreadyExists(f"market period {period_id} is already open")
    record = record_of(request)
    record.update(
        {
            "createdAt": tx.timestamp,
            "docType": "marketperiod",
            "periodId": period_id,
            "stepMinutes": 15,
            "steps": steps_between(parse(request.deliveryStart), parse(request.deliveryEnd)),
        }
    )
    lifecycle.transition(tx, ENTITY, record, MarketPeriodStatus.OPEN)
    return record


def move_gate(tx: Tx, period_id: str, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx)
    record = load(tx, period_id)
    act = lifecycle.check_act(tx, ENTITY, record, "move the gate")
    request = build(GateIn, data, f"gate of market period {period_id}")
    now = market_now(tx, record)
    if not gate_open(tx, record):
        raise WrongState(
            f"market period {period_id} closed for offers at {record['gateClosure']}; a passed "
            "gate does not reopen"
        )
    if parse(request.gateClosure) <= now or request.gateClosure > record["deliveryStart"]:
        raise InvalidArgument(
            f"market period {period_id}: gateClosure {request.gateClosure} must be after the "
            f"market time {text(now)} and not after deliveryStart {record['deliveryStart']}"
        )
    new = {**record, "gateClosure": request.gateClosure}
    lifecycle.commit_act(tx, act, new)
    return new


def advance_clock(tx: Tx, period_id: str, data: dict[str, Any]) -> dict[str, Any]:
    resolve(tx)
    record = load(tx, period_id)
    act = lifecycle.check_act(tx, ENTITY, record, "advance the clock")
    if record.get("clock") != ClockMode.DEMO:
        raise WrongState(
            f"market period {period_id} runs on the ledger's clock; only a demo clock is set"
        )
    request = build(ClockIn, data, f"clock of market period {period_id}")
    if request.demoTime <= record["demoTime"]:
        raise InvalidArgument(
            f"market period {period_id}: the clock moves forward only, from {record['demoTime']}"
            f" (asked {request.demoTime})"
        )
    new = {**record, "demoTime": request.demoTime}
    lifecycle.commit_act(tx, act, new)
    return new


def read(tx: Tx, period_id: str) -> dict[str, Any]:
    resolve(tx)
    record = load(tx, period_id)
    return {**record, "marketTime": text(market_now(tx, record))}


def list_page(tx: Tx, page_size: int, bookmark: str) -> dict[str, Any]:
    resolve(tx)
    ids, next_bookmark, fetched = tx.index_page(MARKET_PERIOD, [], page_size, bookmark)
    records = [r for r in (tx.get(MARKET_PERIOD, i) for i in ids) if r is not None]
    return page_result(records, next_bookmark, fetched)
