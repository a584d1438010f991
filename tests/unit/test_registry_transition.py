"""The one transition function, row by row of the table, for every entity.

Each row is run through ``lifecycle.transition`` on a record in the row's source state, by an
actor the row allows: the status, its index, the stamp, the decision and the event must all be
the row's. The row's refusals (another party, a missing reason, a failing guard) must write
nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from registry_fakes import ARETI_EIC, BSP1_EIC, BSP2_EIC, TSO_EIC

import chaincode.registry  # noqa: F401  (registers every guard)
from chaincode.registry import lifecycle
from chaincode.registry.errors import Forbidden, InvalidArgument, WrongState
from chaincode.registry.ledger import Actor, Caller, Tx
from chaincode.runtime.keys import create_composite_key

ACTORS = {
    lifecycle.Who.OWNER: Actor("BSP1MSP", BSP1_EIC, "BSP", "BSP Alfa", "x509::bsp1"),
    lifecycle.Who.TSO: Actor("TSOMSP", TSO_EIC, "TSO", "Terna", "x509::tso"),
    lifecycle.Who.GRID_DSO: Actor("ARETIMSP", ARETI_EIC, "DSO", "Areti", "x509::areti"),
}
STRANGER = Actor("BSP2MSP", BSP2_EIC, "BSP", "BSP Beta", "x509::bsp2")


class RecordingStub:
    """The part of the stub one transition uses, over an empty state: what it writes and the
    event it sets are kept for the assertions."""

    def __init__(self) -> None:
        self.writes: dict[str, bytes | None] = {}
        self.event: tuple[str, bytes] | None = None

    def get_tx_id(self) -> str:
        return "ab" * 32

    def get_tx_timestamp(self) -> dt.datetime:
        return dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)

    create_composite_key = staticmethod(create_composite_key)

    def get_state(self, key: str) -> bytes:
        return b""

    def get_multiple_states(self, keys: list[str]) -> list[bytes]:
        return [b"" for _ in keys]

    def put_state(self, key: str, value: bytes) -> None:
        self.writes[key] = bytes(value)

    def del_state(self, key: str) -> None:
        self.writes[key] = None

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, payload)


def _tx(actor: Actor) -> tuple[Tx, RecordingStub]:
    stub = RecordingStub()
    tx = Tx(stub, Caller(actor.msp_id, actor.client_id))
    tx.actor = actor
    return tx, stub


def _record(row: lifecycle.Transition) -> dict[str, Any]:
    kind = lifecycle.KINDS[row.entity]
    record: dict[str, Any] = {kind.id_field: "ID-1", lifecycle.OWNER_FIELD: BSP1_EIC}
    if kind.dso_field:
        record[kind.dso_field] = ARETI_EIC
    if row.source is not None:
        record["status"] = row.source
    return record


@pytest.fixture
def no_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are checked here for what the table does; each guard has tests of its own."""
    for key in list(lifecycle.GUARDS):
        monkeypatch.setitem(lifecycle.GUARDS, key, lambda tx, record: None)


def _label(row: lifecycle.Transition) -> str:
    return f"{row.entity}:{row.source}->{row.target}"


def test_registry_transition_every_guard_the_table_names_is_registered() -> None:
    named = {(r.entity, r.guard) for r in lifecycle.TRANSITIONS if r.guard is not None}
    assert named <= set(lifecycle.GUARDS), named - set(lifecycle.GUARDS)


def test_registry_transition_every_entity_has_one_creation_and_a_kind() -> None:
    entities = {r.entity for r in lifecycle.TRANSITIONS}
    assert entities == set(lifecycle.KINDS)
    for entity in entities:
        creations = [r for r in lifecycle.TRANSITIONS if r.entity == entity and r.source is None]
        assert len(creations) == 1, entity


@pytest.mark.usefixtures("no_guards")
@pytest.mark.parametrize("row", lifecycle.TRANSITIONS, ids=_label)
def test_registry_transition_row_does_all_it_says(row: lifecycle.Transition) -> None:
    actor = ACTORS[row.who]
    tx, stub = _tx(actor)
    record = _record(row)
    kind = lifecycle.KINDS[row.entity]
    done = lifecycle.transition(tx, row.entity, record, row.target, reason="why not")
    assert done == row
    assert record["status"] == row.target
    assert record["lastTxId"] == tx.tx_id and record["updatedAt"] == tx.timestamp
    assert record["updatedBy"]["mspId"] == actor.msp_id
    assert stub.writes[tx.key(kind.object_type, "ID-1")] is not None
    if kind.status_index is not None:
        assert stub.writes[tx.key(kind.status_index, row.target, "ID-1")] == b"\x00"
        if row.source is not None:
            assert stub.writes[tx.key(kind.status_index, row.source, "ID-1")] is None
    if row.review is not None:
        assert record[row.review] == {
            "at": tx.timestamp,
            "by": actor.eic,
            "decision": row.target,
            "reason": "why not",
        }
    [change] = tx.changes
    assert (change["event"], change["entity"], change["from"], change["to"]) == (
        row.event,
        row.entity,
        row.source,
        row.target,
    )
    assert change["owner"] == BSP1_EIC
    assert ("reason" in change) == (row.target == "Rejected")


@pytest.mark.usefixtures("no_guards")
@pytest.mark.parametrize("row", lifecycle.TRANSITIONS, ids=_label)
def test_registry_transition_refuses_another_party_and_writes_nothing(
    row: lifecycle.Transition,
) -> None:
    stranger = STRANGER if row.who is not lifecycle.Who.OWNER else ACTORS[lifecycle.Who.TSO]
    tx, stub = _tx(stranger)
    with pytest.raises(Forbidden, match=r"^Forbidden: only the .* may "):
        lifecycle.transition(tx, row.entity, _record(row), row.target, reason="r")
    assert stub.writes == {} and tx.changes == []


@pytest.mark.usefixtures("no_guards")
@pytest.mark.parametrize("row", [r for r in lifecycle.TRANSITIONS if r.needs_reason], ids=_label)
def test_registry_transition_a_row_needing_a_reason_refuses_without_one(
    row: lifecycle.Transition,
) -> None:
    tx, stub = _tx(ACTORS[row.who])
    with pytest.raises(InvalidArgument, match=f"moving to {row.target} needs a reason"):
        lifecycle.transition(tx, row.entity, _record(row), row.target)
    assert stub.writes == {}


@pytest.mark.parametrize(
    "row", [r for r in lifecycle.TRANSITIONS if r.guard is not None], ids=_label
)
def test_registry_transition_a_failing_guard_stops_the_move_before_any_write(
    row: lifecycle.Transition, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(tx: Tx, record: dict[str, Any]) -> None:
        raise WrongState("the guard says no")

    assert row.guard is not None
    monkeypatch.setitem(lifecycle.GUARDS, (row.entity, row.guard), refuse)
    tx, stub = _tx(ACTORS[row.who])
    with pytest.raises(WrongState, match="the guard says no"):
        lifecycle.transition(tx, row.entity, _record(row), row.target, reason="r")
    assert stub.writes == {}


def test_registry_transition_the_callers_check_runs_after_the_table_and_before_writes() -> None:
    row = lifecycle.find(lifecycle.POD, "ID-1", "PreValidated", "Validated")
    tx, stub = _tx(ACTORS[row.who])
    seen: list[lifecycle.Transition] = []

    def check(found: lifecycle.Transition) -> None:
        seen.append(found)
        assert stub.writes == {}
        raise InvalidArgument("the request's own rule")

    with pytest.raises(InvalidArgument, match="own rule"):
        lifecycle.transition(tx, row.entity, _record(row), row.target, check=check)
    assert seen == [row] and stub.writes == {}


def test_registry_transition_a_creation_to_another_state_is_refused() -> None:
    row = lifecycle.creation(lifecycle.POD)
    tx, _ = _tx(ACTORS[row.who])
    with pytest.raises(WrongState, match="a new POD is Registered, not Open"):
        lifecycle.transition(tx, lifecycle.POD, _record(row), "Open")


@pytest.mark.parametrize("act", lifecycle.ACTS, ids=lambda a: f"{a.entity}:{a.name}")
def test_registry_transition_acts_are_allowed_to_their_party_in_their_states_only(
    act: lifecycle.Act,
) -> None:
    kind = lifecycle.KINDS[act.entity]
    base: dict[str, Any] = {kind.id_field: "ID-1", lifecycle.OWNER_FIELD: BSP1_EIC}
    if kind.dso_field:
        base[kind.dso_field] = ARETI_EIC
    allowed = sorted(act.states)[0]
    tx, stub = _tx(ACTORS[act.who])
    record = {**base, "status": allowed}
    assert lifecycle.check_act(tx, act.entity, record, act.name) == act
    lifecycle.commit_act(tx, act, record)
    [change] = tx.changes
    assert change["event"] == act.event and change["from"] == change["to"] == allowed

    others = [r.target for r in lifecycle.TRANSITIONS if r.entity == act.entity]
    other = next((s for s in others if s not in act.states), None)
    if other is not None:  # an entity with one state has no wrong one
        tx, stub = _tx(ACTORS[act.who])
        with pytest.raises(WrongState, match=f"is {other}; "):
            lifecycle.check_act(tx, act.entity, {**base, "status": other}, act.name)
    tx, stub = _tx(STRANGER)
    with pytest.raises(Forbidden):
        lifecycle.check_act(tx, act.entity, {**base, "status": allowed}, act.name)
    assert stub.writes == {}
