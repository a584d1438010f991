"""Participants of a channel's registry, admitted by the BNA; and who the caller is.

Rules:

- **Bootstrap.** On a channel with no BNA yet, the first admission must be the BNA admitting
  itself: the caller's MSP is ``bna_msp_id`` (the BNA of the chaincode's configuration,
  ``TSOMSP`` in the sandbox), its certificate says ``role=TSO`` or it is an admin of that MSP,
  and the participant admitted is that MSP with role TSO. That participant becomes the channel's BNA.
- **Admission.** Afterwards only the BNA admits: a caller of the BNA's MSP whose certificate
  says ``role=TSO``, or an admin of that MSP. One participant per MSP id and per EIC code.
- **Caller resolution.** Every other transaction resolves the caller by MSP id to an admitted
  participant; if the certificate carries ``eic`` or ``role`` attributes they must be the
  participant's.
"""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

from .codes import Role
from .errors import AlreadyExists, Forbidden, InvalidArgument, NotFound
from .fields import build, label_of
from .ledger import BNA, PARTICIPANT, PARTICIPANT_BY_MSP, Actor, Tx, page_result
from .models import ParticipantIn, record_of

log = logging.getLogger(__name__)

# U+0000 and U+10FFFF delimit composite keys; no attribute may hold them
_KEY_RESERVED = frozenset("\x00\U0010ffff")


def _acts_as_tso(tx: Tx) -> bool:
    return tx.caller.is_admin or tx.caller.role_attr == Role.TSO


def admit(tx: Tx, data: dict[str, Any], bna_msp_id: str) -> dict[str, Any]:
    request = build(ParticipantIn, data, label_of("participant", data, "mspId"))
    bna = tx.get(BNA)
    caller = tx.caller
    if bna is None:
        if caller.msp_id != bna_msp_id or not _acts_as_tso(tx):
            raise Forbidden(
                f"the registry has no BNA yet; only {bna_msp_id} with role TSO (or its admin) "
                f"may bootstrap it, not {caller.msp_id}"
            )
        if request.mspId != caller.msp_id or request.role is not Role.TSO:
            raise InvalidArgument(
                f"participant {request.mspId}: the first admission must be the BNA itself "
                f"({caller.msp_id}, role TSO)"
            )
    elif caller.msp_id != bna["mspId"] or not _acts_as_tso(tx):
        raise Forbidden(
            f"only the BNA ({bna['mspId']} with role TSO, or its admin) admits participants, "
            f"not {caller.msp_id}"
        )
    if tx.get(PARTICIPANT_BY_MSP, request.mspId) is not None:
        raise AlreadyExists(f"participant {request.mspId} is already admitted")
    if tx.get(PARTICIPANT, request.eic) is not None:
        raise AlreadyExists(f"EIC code {request.eic} already belongs to an admitted participant")

    record = record_of(request)
    record.update({"admittedAt": tx.timestamp, "docType": "participant"})
    if bna is None:
        tx.actor = Actor(request.mspId, request.eic, request.role, request.name, caller.client_id)
    else:
        tx.actor = resolve(tx)
    tx.stamp(record)
    tx.put(PARTICIPANT, [request.eic], record)
    tx.put(PARTICIPANT_BY_MSP, [request.mspId], {"eic": request.eic})
    if bna is None:
        tx.put(BNA, [], {"eic": request.eic, "mspId": request.mspId})
    tx.record_change(
        "ParticipantAdmitted", "Participant", request.mspId, None, "Admitted", role=request.role
    )
    log.info("participant %s (%s) admitted in tx %s", request.mspId, request.role, tx.tx_id)
    return record


def by_msp(tx: Tx, msp_id: str) -> dict[str, Any] | None:
    pointer = tx.get(PARTICIPANT_BY_MSP, msp_id)
    if pointer is None:
        return None
    return tx.get(PARTICIPANT, pointer["eic"])


def by_eic(tx: Tx, eic: str) -> dict[str, Any] | None:
    return tx.get(PARTICIPANT, eic)


def caller_keys(tx: Tx) -> list[tuple[str, ...]]:
    """The keys ``resolve`` reads, for ``Tx.prefetch``: the MSP pointer, and the participant
    the certificate's ``eic`` names (the one the pointer must lead to, or resolve refuses)."""
    wanted: list[tuple[str, ...]] = [(PARTICIPANT_BY_MSP, tx.caller.msp_id)]
    eic = tx.caller.eic_attr
    if eic and is_key_part(eic):
        wanted.append((PARTICIPANT, eic))
    return wanted


def is_key_part(value: object) -> TypeGuard[str]:
    """Whether ``value`` can be a composite key attribute (prefetch skips what cannot; the
    checks that follow refuse it with their own message)."""
    return isinstance(value, str) and bool(value) and not _KEY_RESERVED.intersection(value)


def resolve(tx: Tx, *also: tuple[str, ...]) -> Actor:
    """The admitted participant the caller acts for; also sets ``tx.actor``.

    ``also`` names keys the transaction reads next, fetched in the caller's request.
    """
    caller = tx.caller
    tx.prefetch(*caller_keys(tx), *also)
    record = by_msp(tx, caller.msp_id)
    if record is None:
        raise Forbidden(f"MSP {caller.msp_id} is not an admitted participant of this registry")
    if caller.eic_attr is not None and caller.eic_attr != record["eic"]:
        raise Forbidden(
            f"caller's certificate says eic={caller.eic_attr} but participant {caller.msp_id} "
            f"is {record['eic']}"
        )
    if caller.role_attr is not None and caller.role_attr != record["role"]:
        raise Forbidden(
            f"caller's certificate says role={caller.role_attr} but participant "
            f"{caller.msp_id} is {record['role']}"
        )
    tx.actor = Actor(caller.msp_id, record["eic"], record["role"], record["name"], caller.client_id)
    return tx.actor


def require_tso_receiver(tx: Tx, entity: str, receiver: str) -> None:
    """The receiver of every registration is the channel's TSO (the BNA)."""
    bna = tx.get(BNA)
    if bna is None or bna["eic"] != receiver:
        expected = bna["eic"] if bna else "the BNA (none admitted yet)"
        raise InvalidArgument(f"{entity}: receiverId {receiver} must be the TSO {expected}")


def require_dso(tx: Tx, entity: str, eic: str) -> dict[str, Any]:
    record = by_eic(tx, eic)
    if record is None or record["role"] != Role.DSO:
        raise InvalidArgument(
            f"{entity}: distributionGridOperatorName {eic} is not an admitted DSO"
        )
    return record


def read(tx: Tx, msp_id: str) -> dict[str, Any]:
    resolve(tx)
    record = by_msp(tx, msp_id)
    if record is None:
        raise NotFound(f"participant {msp_id} is not admitted")
    return record


def list_page(tx: Tx, page_size: int, bookmark: str) -> dict[str, Any]:
    resolve(tx)
    ids, next_bookmark, fetched = tx.index_page(PARTICIPANT_BY_MSP, [], page_size, bookmark)
    tx.prefetch(*((PARTICIPANT_BY_MSP, m) for m in ids))
    pointers = [tx.get(PARTICIPANT_BY_MSP, m) for m in ids]
    tx.prefetch(*((PARTICIPANT, p["eic"]) for p in pointers if p is not None))
    records = [r for r in (by_msp(tx, m) for m in ids) if r is not None]
    return page_result(records, next_bookmark, fetched)
