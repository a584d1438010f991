"""The Python chaincode runtime: a chaincode-as-a-service shim and a contract API.

    from chaincode.runtime import Contract, Context, transaction, ChaincodeError

See docs/architecture.md for the stub and client identity API, and chaincode/README.md.
"""

from .chaincode_config import ChaincodeConfig, ConfigError, OrgInfo, load_chaincode_config
from .config import ServerSettings, SettingsError
from .contract import Context, Contract, transaction
from .errors import ChaincodeError, PeerError, ProtocolError
from .handler import Chaincode, ChaincodeHandler
from .identity import ClientIdentity
from .iterators import (
    KV,
    HistoryQueryIterator,
    KeyModification,
    QueryMetadata,
    StateQueryIterator,
)
from .router import ContractRouter
from .server import ChaincodeServer, ServerThread
from .stub import ChaincodeStub

__all__ = [
    "KV",
    "ChaincodeConfig",
    "ChaincodeError",
    "Chaincode",
    "ChaincodeHandler",
    "ChaincodeServer",
    "ChaincodeStub",
    "ClientIdentity",
    "ConfigError",
    "Context",
    "Contract",
    "ContractRouter",
    "HistoryQueryIterator",
    "KeyModification",
    "OrgInfo",
    "PeerError",
    "ProtocolError",
    "QueryMetadata",
    "ServerSettings",
    "ServerThread",
    "SettingsError",
    "StateQueryIterator",
    "load_chaincode_config",
    "transaction",
]
