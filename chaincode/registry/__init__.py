"""The flexibility registry chaincode: PODs, flex devices, UVAMs and their lifecycles.

Served by the chaincode runtime as ``chaincode.registry:RegistryContract``; see README.md.
"""

from .contract import RegistryContract
from .errors import (
    AlreadyExists,
    Forbidden,
    InvalidArgument,
    NotFound,
    RegistryError,
    WrongState,
)
from .lifecycle import TRANSITIONS, Transition

__all__ = [
    "TRANSITIONS",
    "AlreadyExists",
    "Forbidden",
    "InvalidArgument",
    "NotFound",
    "RegistryContract",
    "RegistryError",
    "Transition",
    "WrongState",
]
