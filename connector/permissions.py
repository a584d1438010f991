"""Who may do what in a connector: one table from (organisation role, user access) to actions.

The connector serves one organisation; its users differ only in access. What the ledger allows
is decided again by the chaincode (the registry, or the P2P market), and channel policies
decide who reads a channel.
"""

from __future__ import annotations

from enum import StrEnum

from connector.org import Role


class Access(StrEnum):
    viewer = "viewer"  # reads only
    operator = "operator"  # the organisation's work
    admin = "admin"  # the operator's work, and the BNA's admissions for the TSO


class Action(StrEnum):
    read = "read the organisation's resources and operations"
    register = "register and change the BSP's resources"
    review = "review PODs and qualify UVAMs (the TSO)"
    validate = "validate PODs of the DSO's grid and set constraints (the DSO)"
    bid = "offer flexibility, acknowledge activations, upload measurements (the BSP)"
    dispatch = "run the market: periods, offers' acceptance, activations, verification, settlement"
    meter = "upload the measurements of the DSO's PODs"
    admit = "admit participants (the BNA)"
    declare = "declare EVs on the P2P market (an EV user its own, the operator for their owners)"
    trade = "submit P2P trades as an EV's buyer (the EV users)"
    settle = (
        "set the P2P market's parameters, confirm trades in batches and reject them "
        "(the infrastructure operator)"
    )
    webhook = "set the organisation's webhook"


_WORK: dict[Role, frozenset[Action]] = {
    Role.BSP: frozenset({Action.register, Action.bid}),
    Role.TSO: frozenset({Action.review, Action.dispatch}),
    Role.DSO: frozenset({Action.validate, Action.meter}),
    Role.INFRA: frozenset({Action.declare, Action.settle}),
    Role.EVUSER: frozenset({Action.declare, Action.trade}),
}


def allowed(role: Role, access: Access) -> frozenset[Action]:
    actions = {Action.read}
    if role is Role.AUDITOR:  # whatever the access: an auditor's connector only reads
        return frozenset(actions)
    if access in (Access.operator, Access.admin):
        actions |= _WORK[role] | {Action.webhook}
    if access is Access.admin and role is Role.TSO:
        actions.add(Action.admit)
    return frozenset(actions)


def fabric_user(access: Access) -> str:
    """The Fabric identity of the organisation a user of this access signs with."""
    return "Admin" if access is Access.admin else "User1"
