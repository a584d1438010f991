"""THE lifecycle table: who moves which entity from which state to which, and how.

Every status change in the registry is a row of ``TRANSITIONS`` and happens through one
function, ``transition``: it finds the row for the caller (who, from where), asks for the
reason the row needs, runs the row's guard, records the decision where the row says, keeps the
status index true, stamps the record with the transaction, writes it and announces the row's
event. Nothing else in the package decides whether a status may change. A row with
``source=None`` is the creation of the entity.

Changes that keep the status (updating a POD's information, the DSO setting its constraints)
are rows of ``ACTS``: who may make them, in which states, and the event they announce; their
rule is checked by ``check_act`` and their write announced by ``commit_act``.

``who`` is checked against the resolved caller and the entity's own parties:

- ``OWNER``: the BSP whose EIC is the entity's flexibilityServiceProviderId;
- ``TSO``: the TSO (the Business Network Administrator);
- ``GRID_DSO``: the DSO whose EIC is the POD's distributionGridOperatorName.

A row's ``guard`` names a rule about the record (and what the ledger holds about it) that must
hold for the move; the module that owns that data registers its check with ``@guard``.
``Registered -> Open`` is made by the registry itself on the owner's behalf when the entity
becomes complete (``guard="complete"``); the owner may also ask for it explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import ledger as keys
from .codes import PodStatus, RelationStatus, Role, UvamStatus
from .errors import Forbidden, InvalidArgument, WrongState
from .ledger import Actor, Tx
from .markettime import (
    ActivationStatus,
    MarketPeriodStatus,
    OfferStatus,
    SeriesStatus,
    StatementStatus,
)

POD = "POD"
UVAM = "UVAM"
RELATION = "Relation"
MARKET_PERIOD = "MarketPeriod"
OFFER = "Offer"
ACTIVATION = "Activation"
METER_SERIES = "MeterSeries"  # the BSP's behind-the-meter series: the aggregate, a device
POD_SERIES = "PodSeries"  # the DSO's series of a POD
STATEMENT = "Statement"

OWNER_FIELD = "flexibilityServiceProviderId"


class Who(StrEnum):
    OWNER = "the owning BSP"
    TSO = "the TSO"
    GRID_DSO = "the DSO named on the POD"


@dataclass(frozen=True)
class Transition:
    entity: str
    source: str | None
    target: str
    who: Who
    event: str
    needs_reason: bool = False
    guard: str | None = None
    # the record field where the decision is kept ({decision, at, by, reason?}), if any
    review: str | None = None
    # the wording of a wrong-state refusal for this row, when the generic one reads badly
    only: str | None = None


@dataclass(frozen=True)
class Act:
    """A change that keeps the status: allowed to ``who`` while the entity is in ``states``."""

    entity: str
    name: str
    states: frozenset[str]
    who: Who
    event: str
    # a wrong-state refusal's rule, "{states}" standing for the states the act is allowed in
    rule: str


@dataclass(frozen=True)
class Kind:
    """How the table finds an entity's id, keys, status index and event fields in its record."""

    entity: str
    object_type: str
    id_field: str
    status_index: str | None = None
    dso_field: str | None = None
    # change field -> record field, added to the event's change when the record has it
    event_fields: tuple[tuple[str, str], ...] = ()
    label: str | None = None  # how refusals name it (default: the entity name)

    @property
    def name(self) -> str:
        return self.label or self.entity


P, U, R = PodStatus, UvamStatus, RelationStatus
OF, A = OfferStatus, ActivationStatus
TSO_REVIEW, DSO_REVIEW = "tsoReview", "dsoReview"

TRANSITIONS: tuple[Transition, ...] = (
    # entity source              target              who           event
    Transition(POD, None, P.REGISTERED, Who.OWNER, "PodRegistered"),
    Transition(POD, P.REGISTERED, P.OPEN, Who.OWNER, "PodOpened", guard="complete"),
    Transition(POD, P.OPEN, P.UNDER_REVIEW, Who.OWNER, "PodSubmittedForReview"),
    Transition(POD, P.UNDER_REVIEW, P.PRE_VALIDATED, Who.TSO, "PodPreValidated", review=TSO_REVIEW),
    Transition(
        POD,
        P.UNDER_REVIEW,
        P.REJECTED,
        Who.TSO,
        "PodRejected",
        needs_reason=True,
        review=TSO_REVIEW,
    ),
    Transition(POD, P.PRE_VALIDATED, P.VALIDATED, Who.GRID_DSO, "PodValidated", review=DSO_REVIEW),
    Transition(
        POD,
        P.PRE_VALIDATED,
        P.REJECTED,
        Who.GRID_DSO,
        "PodRejected",
        needs_reason=True,
        review=DSO_REVIEW,
    ),
    Transition(UVAM, None, U.REGISTERED, Who.OWNER, "UvamRegistered"),
    Transition(UVAM, U.REGISTERED, U.OPEN, Who.OWNER, "UvamOpened", guard="complete"),
    Transition(
        UVAM,
        U.OPEN,
        U.UNDER_REVIEW,
        Who.OWNER,
        "UvamSubmittedForReview",
        guard="members cover the qualified powers",
    ),
    Transition(
        UVAM,
        U.UNDER_REVIEW,
        U.QUALIFIED,
        Who.TSO,
        "UvamQualified",
        guard="members cover the qualified powers",
        review=TSO_REVIEW,
    ),
    Transition(
        UVAM,
        U.UNDER_REVIEW,
        U.REJECTED,
        Who.TSO,
        "UvamRejected",
        needs_reason=True,
        review=TSO_REVIEW,
    ),
    Transition(RELATION, None, R.ACTIVE, Who.OWNER, "RelationRegistered"),
    Transition(
        RELATION, R.ACTIVE, R.ENDED, Who.OWNER, "RelationEnded", only="only an Active one ends"
    ),
    # --- the market journey after registration ----------------------------------------------
    Transition(
        MARKET_PERIOD,
        None,
        MarketPeriodStatus.OPEN,
        Who.TSO,
        "MarketPeriodOpened",
        guard="gate closure ahead",
    ),
    Transition(
        OFFER, None, OF.SUBMITTED, Who.OWNER, "OfferSubmitted", guard="qualified UVAM, gate open"
    ),
    Transition(OFFER, OF.SUBMITTED, OF.WITHDRAWN, Who.OWNER, "OfferWithdrawn", guard="gate open"),
    Transition(
        OFFER,
        OF.SUBMITTED,
        OF.ACCEPTED,
        Who.TSO,
        "OfferAccepted",
        guard="gate closed",
        review=TSO_REVIEW,
    ),
    Transition(
        OFFER,
        OF.SUBMITTED,
        OF.REJECTED,
        Who.TSO,
        "OfferRejected",
        needs_reason=True,
        guard="gate closed",
        review=TSO_REVIEW,
    ),
    Transition(
        ACTIVATION,
        None,
        A.SENT,
        Who.TSO,
        "ActivationSent",
        guard="within the accepted offer and the lead time",
    ),
    Transition(
        ACTIVATION,
        A.SENT,
        A.ACKNOWLEDGED,
        Who.OWNER,
        "ActivationAcknowledged",
        guard="not ended",
    ),
    Transition(
        ACTIVATION,
        A.SENT,
        A.VERIFIED,
        Who.TSO,
        "ActivationVerified",
        guard="ended and measured",
    ),
    Transition(
        ACTIVATION,
        A.ACKNOWLEDGED,
        A.VERIFIED,
        Who.TSO,
        "ActivationVerified",
        guard="ended and measured",
    ),
    Transition(ACTIVATION, A.VERIFIED, A.SETTLED, Who.TSO, "ActivationSettled"),
    Transition(
        METER_SERIES,
        None,
        SeriesStatus.ANCHORED,
        Who.OWNER,
        "SeriesAnchored",
        guard="the UVAM's own resource",
    ),
    Transition(
        POD_SERIES,
        None,
        SeriesStatus.ANCHORED,
        Who.GRID_DSO,
        "PodSeriesAnchored",
        guard="a POD of the UVAM",
    ),
    Transition(
        STATEMENT,
        None,
        StatementStatus.ISSUED,
        Who.TSO,
        "StatementIssued",
        guard="every activation verified",
    ),
)

ACTS: tuple[Act, ...] = (
    Act(
        POD,
        "update",
        frozenset({P.OPEN}),
        Who.OWNER,
        "PodUpdated",
        "information can change only while {states}",
    ),
    Act(
        POD,
        "set constraints",
        frozenset({P.PRE_VALIDATED}),
        Who.GRID_DSO,
        "PodConstraintsSet",
        "the DSO sets constraints only while {states}",
    ),
    Act(
        UVAM,
        "update",
        frozenset({U.OPEN}),
        Who.OWNER,
        "UvamUpdated",
        "information can change only while {states}",
    ),
    Act(
        MARKET_PERIOD,
        "move the gate",
        frozenset({MarketPeriodStatus.OPEN}),
        Who.TSO,
        "MarketGateMoved",
        "the gate can move only while {states}",
    ),
    Act(
        MARKET_PERIOD,
        "advance the clock",
        frozenset({MarketPeriodStatus.OPEN}),
        Who.TSO,
        "MarketClockAdvanced",
        "the clock can move only while {states}",
    ),
)

DSO_FIELD = "distributionGridOperatorName"
_MARKET_FIELDS = (("period", "periodId"), ("uvam", "resourceGroupId"))

KINDS: dict[str, Kind] = {
    POD: Kind(POD, keys.POD, "meteringPointId", keys.POD_BY_STATUS, dso_field=DSO_FIELD),
    UVAM: Kind(UVAM, keys.UVAM, "resourceGroupId", keys.UVAM_BY_STATUS),
    RELATION: Kind(
        RELATION,
        keys.RELATION,
        "relationId",
        event_fields=(("resource", "resource"), ("uvam", "resourceGroupId")),
        label="relation",
    ),
    MARKET_PERIOD: Kind(MARKET_PERIOD, keys.MARKET_PERIOD, "periodId", label="market period"),
    OFFER: Kind(
        OFFER,
        keys.OFFER,
        "offerId",
        keys.OFFER_BY_STATUS,
        event_fields=(*_MARKET_FIELDS, ("direction", "direction")),
        label="offer",
    ),
    ACTIVATION: Kind(
        ACTIVATION,
        keys.ACTIVATION,
        "activationId",
        keys.ACTIVATION_BY_STATUS,
        event_fields=(*_MARKET_FIELDS, ("offer", "offerId")),
        label="activation",
    ),
    METER_SERIES: Kind(
        METER_SERIES,
        keys.SERIES,
        "seriesId",
        event_fields=(*_MARKET_FIELDS, ("resource", "resource"), ("scope", "scope")),
        label="series",
    ),
    POD_SERIES: Kind(
        POD_SERIES,
        keys.SERIES,
        "seriesId",
        dso_field=DSO_FIELD,
        event_fields=(*_MARKET_FIELDS, ("resource", "resource"), ("scope", "scope")),
        label="series",
    ),
    STATEMENT: Kind(
        STATEMENT,
        keys.STATEMENT,
        "statementId",
        event_fields=(("period", "periodId"),),
        label="statement",
    ),
}

# States in which an entity's information may change (UpdatePod, UpdateUvam).
EDITABLE: dict[str, frozenset[str]] = {a.entity: a.states for a in ACTS if a.name == "update"}

# States in which parts may still be added to an entity (devices and attachments of a POD;
# members, attachments and the connection of a UVAM): the seed's flow adds them before Open.
ASSEMBLING: dict[str, frozenset[str]] = {
    POD: frozenset({P.REGISTERED, P.OPEN}),
    UVAM: frozenset({U.REGISTERED, U.OPEN}),
}

# POD states from which a POD (or one of its flex devices) may join a UVAM.
AGGREGATABLE_POD: frozenset[str] = frozenset({P.PRE_VALIDATED, P.VALIDATED})

# A guard refuses (raises a RegistryError) or returns; registered by the module owning its data.
Guard = Callable[[Tx, dict[str, Any]], None]
GUARDS: dict[tuple[str, str], Guard] = {}


def guard(entity: str, name: str) -> Callable[[Guard], Guard]:
    """Register the check of the guard ``name`` that rows of ``entity`` refer to."""

    def register(check: Guard) -> Guard:
        GUARDS[(entity, name)] = check
        return check

    return register


def creation(entity: str) -> Transition:
    for row in TRANSITIONS:
        if row.entity == entity and row.source is None:
            return row
    raise KeyError(entity)


def find(entity: str, entity_id: str, source: str, target: str) -> Transition:
    """The row moving ``entity`` from ``source`` to ``target``, or a WrongState naming the way."""
    for row in TRANSITIONS:
        if row.entity == entity and row.source == source and row.target == target:
            return row
    towards = [r for r in TRANSITIONS if r.entity == entity and r.target == target and r.source]
    if towards:
        raise _wrong_state(entity, entity_id, source, target, towards)
    onward = [r.target for r in TRANSITIONS if r.entity == entity and r.source == source]
    hint = f"from {source} it can move to {' or '.join(onward)}" if onward else "it is final"
    raise WrongState(f"{_name(entity)} {entity_id} is {source} and cannot move to {target}; {hint}")


def _wrong_state(
    entity: str, entity_id: str, source: str, target: str, rows: list[Transition]
) -> WrongState:
    only = next((r.only for r in rows if r.only), None)
    if only is not None:
        return WrongState(f"{_name(entity)} {entity_id} is {source}; {only}")
    sources = " or ".join(str(r.source) for r in rows)
    return WrongState(
        f"{_name(entity)} {entity_id} is {source}; it can move to {target} only from {sources}"
    )


def _name(entity: str) -> str:
    kind = KINDS.get(entity)
    return kind.name if kind is not None else entity


def plan(
    entity: str,
    entity_id: str,
    source: str,
    target: str,
    actor: Actor,
    owner: str,
    grid_dso: str | None = None,
) -> Transition:
    """The row ``actor`` may use to move the entity to ``target`` now.

    Who is checked before where from, so a BSP asking to validate is told it may never do so
    rather than that the POD is in the wrong state.
    """
    towards = [r for r in TRANSITIONS if r.entity == entity and r.target == target and r.source]
    if not towards:
        return find(entity, entity_id, source, target)
    mine = [r for r in towards if _allowed(r.who, actor, owner, grid_dso)]
    if not mine:
        authorize(towards[0], entity_id, actor, owner, grid_dso)
    for row in mine:
        if row.source == source:
            return row
    raise _wrong_state(entity, entity_id, source, target, mine)


def _allowed(who: Who, actor: Actor, owner: str, grid_dso: str | None) -> bool:
    if who is Who.OWNER:
        return actor.role == Role.BSP and actor.eic == owner
    if who is Who.TSO:
        return actor.role == Role.TSO
    return actor.role == Role.DSO and actor.eic == grid_dso


def authorize(
    row: Transition, entity_id: str, actor: Actor, owner: str, grid_dso: str | None = None
) -> None:
    """Refuse unless ``actor`` is who the row names for this entity."""
    if not _allowed(row.who, actor, owner, grid_dso):
        action = f"move {_name(row.entity)} {entity_id} to {row.target}"
        if row.source is None:
            action = f"register {_name(row.entity)} {entity_id}"
        raise Forbidden(
            f"only {row.who.value} may {action}; caller {actor.msp_id} ({actor.role} "
            f"{actor.eic}) may not"
        )


def transition(
    tx: Tx,
    entity: str,
    record: dict[str, Any],
    target: str,
    *,
    reason: str | None = None,
    check: Callable[[Transition], None] | None = None,
) -> Transition:
    """THE way an entity's status changes (or an entity is created, when ``record`` has no
    status yet): every rule of the row is checked before anything is written.

    ``check`` is the caller's own checks of the request that depend on the row (a DSO's
    constraints come only with the DSO's decision); it runs after the table's and may still
    change ``record``. Then the decision is recorded in the row's ``review`` field, the status
    set and its index moved, the record stamped and written, and the row's event announced.
    """
    kind = KINDS[entity]
    actor = tx.require_actor()
    entity_id = str(record[kind.id_field])
    owner = str(record.get(OWNER_FIELD) or "")
    grid_dso = record.get(kind.dso_field) if kind.dso_field else None
    source: str | None = record.get("status")
    if source is None:
        row = creation(entity)
        if row.target != target:
            raise WrongState(f"a new {_name(entity)} is {row.target}, not {target}")
        authorize(row, entity_id, actor, owner, grid_dso)
    else:
        row = plan(entity, entity_id, source, target, actor, owner, grid_dso)
    if row.needs_reason and not reason:
        raise InvalidArgument(f"{_name(entity)} {entity_id}: moving to {target} needs a reason")
    if row.guard is not None:
        GUARDS[(entity, row.guard)](tx, record)
    if check is not None:
        check(row)

    if row.review is not None:
        decision: dict[str, Any] = {"at": tx.timestamp, "by": actor.eic, "decision": row.target}
        if reason:
            decision["reason"] = reason
        record[row.review] = decision
    record["status"] = row.target
    if kind.status_index is not None:
        if source is not None:
            tx.del_index(kind.status_index, source, entity_id)
        tx.put_index(kind.status_index, row.target, entity_id)
    tx.stamp(record)
    tx.put(kind.object_type, [entity_id], record)
    _announce(tx, kind, row.event, record, source, reason=_reason(row, record))
    return row


def _reason(row: Transition, record: dict[str, Any]) -> str | None:
    """A rejection's reason travels with its event (the BSP learns why without asking)."""
    if row.target != "Rejected" or row.review is None:
        return None
    decision = record.get(row.review) or {}
    reason = decision.get("reason")
    return str(reason) if reason else None


def _act(entity: str, name: str) -> Act:
    for row in ACTS:
        if row.entity == entity and row.name == name:
            return row
    raise KeyError((entity, name))


def check_act(tx: Tx, entity: str, record: dict[str, Any], name: str) -> Act:
    """Refuse the act ``name`` on ``record`` unless the caller may make it in this state."""
    row = _act(entity, name)
    kind = KINDS[entity]
    actor = tx.require_actor()
    entity_id = str(record[kind.id_field])
    owner = str(record.get(OWNER_FIELD) or "")
    grid_dso = record.get(kind.dso_field) if kind.dso_field else None
    if not _allowed(row.who, actor, owner, grid_dso):
        if row.who is Who.OWNER:
            raise Forbidden(
                f"{_name(entity)} {entity_id} belongs to BSP {owner}; caller {actor.msp_id} "
                f"({actor.role} {actor.eic}) may not {name} it"
            )
        party = f" ({grid_dso})" if row.who is Who.GRID_DSO else ""
        raise Forbidden(
            f"only {row.who.value}{party} may {name} of {_name(entity)} {entity_id}; caller "
            f"{actor.msp_id} ({actor.role} {actor.eic}) may not"
        )
    status = str(record["status"])
    if status not in row.states:
        states = " or ".join(sorted(row.states, key=_order(entity)))
        raise WrongState(
            f"{_name(entity)} {entity_id} is {status}; {row.rule.format(states=states)}"
        )
    return row


def commit_act(tx: Tx, row: Act, record: dict[str, Any]) -> None:
    """Stamp and write the record the act changed, and announce the act's event."""
    kind = KINDS[row.entity]
    tx.stamp(record)
    tx.put(kind.object_type, [str(record[kind.id_field])], record)
    _announce(tx, kind, row.event, record, str(record["status"]))


def _announce(
    tx: Tx,
    kind: Kind,
    event: str,
    record: dict[str, Any],
    old: str | None,
    reason: str | None = None,
) -> None:
    extra = {name: record.get(field) for name, field in kind.event_fields}
    tx.record_change(
        event,
        kind.entity,
        str(record[kind.id_field]),
        old,
        record["status"],
        owner=record.get(OWNER_FIELD),
        dso=record.get(kind.dso_field) if kind.dso_field else None,
        reason=reason,
        **extra,
    )


def check_editable(entity: str, entity_id: str, status: str) -> None:
    allowed = EDITABLE[entity]
    if status not in allowed:
        raise WrongState(
            f"{entity} {entity_id} is {status}; information can change only while "
            f"{' or '.join(sorted(allowed, key=_order(entity)))}"
        )


def check_assembling(entity: str, entity_id: str, status: str, what: str) -> None:
    allowed = ASSEMBLING[entity]
    if status not in allowed:
        raise WrongState(
            f"{entity} {entity_id} is {status}; {what} can change only while "
            f"{' or '.join(sorted(allowed, key=_order(entity)))}"
        )


def _order(entity: str) -> Callable[[str], int]:
    states = [r.target for r in TRANSITIONS if r.entity == entity]
    return lambda s: states.index(s) if s in states else len(states)


__all__ = [
    "ACTIVATION",
    "ACTS",
    "AGGREGATABLE_POD",
    "ASSEMBLING",
    "EDITABLE",
    "GUARDS",
    "KINDS",
    "MARKET_PERIOD",
    "METER_SERIES",
    "OFFER",
    "POD",
    "POD_SERIES",
    "RELATION",
    "STATEMENT",
    "TRANSITIONS",
    "UVAM",
    "Act",
    "Kind",
    "Transition",
    "Who",
    "authorize",
    "check_act",
    "check_assembling",
    "check_editable",
    "commit_act",
    "creation",
    "find",
    "guard",
    "plan",
    "transition",
]
