"""Who may touch or read a resource, apart from its status transitions (see ``lifecycle``).

- A BSP acts only on resources whose flexibilityServiceProviderId is its own EIC.
- The TSO reads everything on the channel; a DSO reads the PODs that name it (and their
  devices).
"""

from __future__ import annotations

from typing import Any

from .codes import Role
from .errors import Forbidden, InvalidArgument
from .ledger import Actor


def require_owner(actor: Actor, entity: str, entity_id: str, owner: str, action: str) -> None:
    if actor.role != Role.BSP or actor.eic != owner:
        raise Forbidden(
            f"{entity} {entity_id} belongs to BSP {owner}; caller {actor.msp_id} ({actor.role} "
            f"{actor.eic}) may not {action} it"
        )


def require_same(entity: str, field: str, given: str | None, stored: str) -> None:
    """A request may repeat a fixed field of the record (the CBP API does) but not change it."""
    if given is not None and given != stored:
        raise InvalidArgument(f"{entity}: {field} is {stored} and cannot be changed to {given}")


def can_read(actor: Actor, record: dict[str, Any]) -> bool:
    if actor.role == Role.TSO:
        return True
    if actor.role == Role.BSP:
        return bool(record.get("flexibilityServiceProviderId") == actor.eic)
    if actor.role == Role.DSO:
        return bool(record.get("distributionGridOperatorName") == actor.eic)
    return False


def require_read(actor: Actor, entity: str, entity_id: str, record: dict[str, Any]) -> None:
    if not can_read(actor, record):
        raise Forbidden(
            f"{entity} {entity_id} is not visible to {actor.msp_id} ({actor.role} {actor.eic})"
        )
