"""Who may do what on the P2P market: one table, checked before anything is read or written.

| action                          | who                                                  |
|---------------------------------|------------------------------------------------------|
| set the market parameters       | the infrastructure operator                          |
| declare an EV                   | its EV user (owner = the caller), or the operator    |
|                                 | naming the owner                                     |
| submit a trade                  | the buyer EV's owner (an EV user)                    |
| confirm a batch, reject a trade | the infrastructure operator, never the trade's buyer |
| read anything                   | every member of the channel (the channel decides)    |
"""

from __future__ import annotations

from .errors import Forbidden
from .ledger import Tx


def require_operator(tx: Tx, action: str) -> None:
    msp = tx.parties.operator_msp_id
    if tx.caller.msp_id != msp:
        raise Forbidden(
            f"{action} is for the infrastructure operator ({msp}); the caller is {tx.caller.msp_id}"
        )


def require_ev_user(tx: Tx, action: str) -> None:
    msp = tx.parties.ev_users_msp_id
    if tx.caller.msp_id != msp:
        raise Forbidden(f"{action} is for EV users ({msp}); the caller is {tx.caller.msp_id}")


def require_declarer(tx: Tx) -> None:
    allowed = (tx.parties.ev_users_msp_id, tx.parties.operator_msp_id)
    if tx.caller.msp_id not in allowed:
        raise Forbidden(
            f"declaring an EV is for EV users ({allowed[0]}) and the infrastructure operator "
            f"({allowed[1]}); the caller is {tx.caller.msp_id}"
        )


def is_operator(tx: Tx) -> bool:
    return tx.caller.msp_id == tx.parties.operator_msp_id
