"""The P2P EV energy trading chaincode: market parameters, EVs, trades, confirmation batches.

Served by the chaincode runtime as ``chaincode.trading:TradingContract`` on the
``p2p-trading`` channel; see README.md.
"""

from .contract import TradingContract
from .errors import (
    AlreadyExists,
    Forbidden,
    InsufficientEnergy,
    InvalidArgument,
    NotFound,
    TradingError,
    WrongState,
)
from .ledger import Parties
from .models import MAX_BATCH
from .rules import Role, available_kwh, cost_eur, required_kwh, role_of

__all__ = [
    "MAX_BATCH",
    "AlreadyExists",
    "Forbidden",
    "InsufficientEnergy",
    "InvalidArgument",
    "NotFound",
    "Parties",
    "Role",
    "TradingContract",
    "TradingError",
    "WrongState",
    "available_kwh",
    "cost_eur",
    "required_kwh",
    "role_of",
]
