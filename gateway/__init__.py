"""A Python client of Hyperledger Fabric's Gateway API (Fabric v2.4+ / v3).

    from gateway import from_profile
    with from_profile("bsp1", "User1") as gw:
        contract = gw.get_network("bsp1-channel").get_contract("registry")
        contract.submit_transaction("RegisterPod", pod_json)

`gateway.aio` holds the async core; this package's objects are its sync facade. Building and
signing are pure functions (`gateway.proposal`, `gateway.transaction`, `gateway.events`);
ledger decoding and chain verification are in `gateway.ledger` and `gateway.audit`.
"""

from gateway.audit import ChainReport, verify_chain
from gateway.checkpoint import Checkpoint, Checkpointer, FileCheckpointer, InMemoryCheckpointer
from gateway.commit import Status
from gateway.contract import Contract
from gateway.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EventsError,
    GatewayClientError,
    GatewayError,
    IdentityError,
    ProtocolError,
    SubmitError,
)
from gateway.events import BlockEventKind, ChaincodeEvent
from gateway.flow import (
    BlockEventsRequest,
    ChaincodeEventsRequest,
    Commit,
    EventStream,
    Proposal,
    Transaction,
)
from gateway.gateway import Gateway, connect
from gateway.identity import Identity, SigningIdentity, Wallet, load_identity, load_msp_folder
from gateway.network import Network
from gateway.options import Timeouts
from gateway.profile import from_profile, load_profile_identity
from gateway.signing import ECDSASigner, load_signer, sha256

__all__ = [
    "BlockEventKind",
    "BlockEventsRequest",
    "ChainReport",
    "ChaincodeEvent",
    "ChaincodeEventsRequest",
    "Checkpoint",
    "Checkpointer",
    "Commit",
    "CommitError",
    "CommitStatusError",
    "Contract",
    "ECDSASigner",
    "EndorseError",
    "ErrorDetail",
    "EventStream",
    "EventsError",
    "FileCheckpointer",
    "Gateway",
    "GatewayClientError",
    "GatewayError",
    "Identity",
    "IdentityError",
    "InMemoryCheckpointer",
    "Network",
    "Proposal",
    "ProtocolError",
    "SigningIdentity",
    "Status",
    "SubmitError",
    "Timeouts",
    "Transaction",
    "Wallet",
    "connect",
    "from_profile",
    "load_identity",
    "load_msp_folder",
    "load_profile_identity",
    "load_signer",
    "sha256",
    "verify_chain",
]
