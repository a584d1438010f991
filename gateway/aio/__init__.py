"""The async core of the gateway client, on grpc.aio.

async with connect(endpoint, identity, signer, tls_root_certificates=ca, ...) as gw:
    contract = gw.get_network("bsp1-channel").get_contract("registry")
    result = await contract.submit_transaction("RegisterPod", pod_json)
"""

from gateway.aio.contract import Contract
from gateway.aio.events import BlockEventsRequest, ChaincodeEventsRequest, EventStream
from gateway.aio.flow import Commit, Proposal, Transaction
from gateway.aio.gateway import Gateway, connect
from gateway.aio.network import Network
from gateway.aio.profile import from_profile

__all__ = [
    "BlockEventsRequest",
    "ChaincodeEventsRequest",
    "Commit",
    "Contract",
    "EventStream",
    "Gateway",
    "Network",
    "Proposal",
    "Transaction",
    "connect",
    "from_profile",
]
