"""THE lifecycle table of PODs and UVAMs: who moves which entity from which state to which.

Every status change in the registry is a row of ``TRANSITIONS``; nothing else in the package
decides whether a transition is allowed. A row with ``source=None`` is the creation of the
entity. ``who`` is checked against the resolved caller and the entity's own parties:

- ``OWNER``: the BSP whose EIC is the entity's flexibilityServiceProviderId;
- ``TSO``: the TSO (the Business Network Administrator);
- ``GRID_DSO``: the DSO whose EIC is the POD's distributionGridOperatorName.

``Registered -> Open`` is made by the registry itself on the owner's behalf when the entity
becomes complete (``guard="complete"``); the owner may also ask for it explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .codes import PodStatus, Role, UvamStatus
from .errors import Forbidden, WrongState
from .ledger import Actor

POD = "POD"
UVAM = "UVAM"


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


P, U = PodStatus, UvamStatus

TRANSITIONS: tuple[Transition, ...] = (
    # entity source              target              who           event
    Transition(POD, None, P.REGISTERED, Who.OWNER, "PodRegistered"),
    Transition(POD, P.REGISTERED, P.OPEN, Who.OWNER, "PodOpened", guard="complete"),
    Transition(POD, P.OPEN, P.UNDER_REVIEW, Who.OWNER, "PodSubmittedForReview"),
    Transition(POD, P.UNDER_REVIEW, P.PRE_VALIDATED, Who.TSO, "PodPreValidated"),
    Transition(POD, P.UNDER_REVIEW, P.REJECTED, Who.TSO, "PodRejected", needs_reason=True),
    Transition(POD, P.PRE_VALIDATED, P.VALIDATED, Who.GRID_DSO, "PodValidated"),
    Transition(POD, P.PRE_VALIDATED, P.REJECTED, Who.GRID_DSO, "PodRejected", needs_reason=True),
    Transition(UVAM, None, U.REGISTERED, Who.OWNER, "UvamRegistered"),
    Transition(UVAM, U.REGISTERED, U.OPEN, Who.OWNER, "UvamOpened", guard="complete"),
    Transition(UVAM, U.OPEN, U.UNDER_REVIEW, Who.OWNER, "UvamSubmittedForReview"),
    Transition(UVAM, U.UNDER_REVIEW, U.QUALIFIED, Who.TSO, "UvamQualified"),
    Transition(UVAM, U.UNDER_REVIEW, U.REJECTED, Who.TSO, "UvamRejected", needs_reason=True),
)

# States in which an entity's information may change (UpdatePod, UpdateUvam).
EDITABLE: dict[str, frozenset[str]] = {POD: frozenset({P.OPEN}), UVAM: frozenset({U.OPEN})}

# States in which parts may still be added to an entity (devices and attachments of a POD;
# members, attachments and the connection of a UVAM): the seed's flow adds them before Open.
ASSEMBLING: dict[str, frozenset[str]] = {
    POD: frozenset({P.REGISTERED, P.OPEN}),
    UVAM: frozenset({U.REGISTERED, U.OPEN}),
}

# POD states from which a POD (or one of its flex devices) may join a UVAM.
AGGREGATABLE_POD: frozenset[str] = frozenset({P.PRE_VALIDATED, P.VALIDATED})


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
    sources = [
        r.source for r in TRANSITIONS if r.entity == entity and r.target == target and r.source
    ]
    if sources:
        raise WrongState(
            f"{entity} {entity_id} is {source}; it can move to {target} only from "
            f"{' or '.join(sources)}"
        )
    onward = [r.target for r in TRANSITIONS if r.entity == entity and r.source == source]
    hint = f"from {source} it can move to {' or '.join(onward)}" if onward else "it is final"
    raise WrongState(f"{entity} {entity_id} is {source} and cannot move to {target}; {hint}")


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
    sources = " or ".join(str(r.source) for r in mine)
    raise WrongState(
        f"{entity} {entity_id} is {source}; it can move to {target} only from {sources}"
    )


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
        action = f"move {row.entity} {entity_id} to {row.target}"
        if row.source is None:
            action = f"register {row.entity} {entity_id}"
        raise Forbidden(
            f"only {row.who.value} may {action}; caller {actor.msp_id} ({actor.role} "
            f"{actor.eic}) may not"
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
    "AGGREGATABLE_POD",
    "ASSEMBLING",
    "EDITABLE",
    "POD",
    "TRANSITIONS",
    "UVAM",
    "Transition",
    "Who",
    "authorize",
    "check_assembling",
    "check_editable",
    "creation",
    "find",
    "plan",
]
