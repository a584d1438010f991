"""Fabric's protobuf modules, typed as `Any` for mypy.

The pinned `hyperledger-fabric-protos` wheel ships no `.pyi` stubs: its message classes are made
at import time, so mypy sees none of them (`Module has no attribute "ChannelHeader"`). Importing
them here, once, keeps the rest of the package mypy-clean without scattering `type: ignore`.
If the project ever adds stubs (or a `follow_imports = "skip"` override), this module still works.
"""

from __future__ import annotations

import importlib
from typing import Any


def _load(name: str) -> Any:
    return importlib.import_module(f"fabric_protos.{name}")


common_pb2: Any = _load("common.common_pb2")
configtx_pb2: Any = _load("common.configtx_pb2")
configuration_pb2: Any = _load("common.configuration_pb2")
ledger_pb2: Any = _load("common.ledger_pb2")
policies_pb2: Any = _load("common.policies_pb2")
gateway_pb2: Any = _load("gateway.gateway_pb2")
identities_pb2: Any = _load("msp.identities_pb2")
msp_config_pb2: Any = _load("msp.msp_config_pb2")
ab_pb2: Any = _load("orderer.ab_pb2")
chaincode_pb2: Any = _load("peer.chaincode_pb2")
chaincode_event_pb2: Any = _load("peer.chaincode_event_pb2")
events_pb2: Any = _load("peer.events_pb2")
proposal_pb2: Any = _load("peer.proposal_pb2")
proposal_response_pb2: Any = _load("peer.proposal_response_pb2")
transaction_pb2: Any = _load("peer.transaction_pb2")
query_pb2: Any = _load("peer.query_pb2")
kv_rwset_pb2: Any = _load("ledger.rwset.kvrwset.kv_rwset_pb2")
rwset_pb2: Any = _load("ledger.rwset.rwset_pb2")
