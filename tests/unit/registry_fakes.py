"""The contracts' unit tests: a contract (the registry unless another is given) served by the
real chaincode runtime on its in-memory peer (`chaincode.runtime.testing.FakePeer`), and
builders of the sandbox's registry requests.

`FakeLedger` drives the contract as a client would, one call a transaction: arguments go as
the strings a client sends, the caller is a real X.509 certificate with Fabric CA attributes,
results come back as JSON and refusals as `ChaincodeError` with their status. The peer commits
a transaction's writes only when it succeeds and stamps each one a second after the last.
Claims about the real ledger belong to the sandbox tests; this is for logic and refusals.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from functools import cache
from typing import Any

from fabric_protos.peer import chaincode_shim_pb2 as shim

from chaincode.registry import RegistryContract
from chaincode.runtime import ChaincodeConfig, ChaincodeError, Contract, ContractRouter
from chaincode.runtime import messages as m
from chaincode.runtime.testing import FakePeer, Simulation, make_creator
from network.chaincode_servers import chaincode_config
from network.topology import load_topology


@dataclass(frozen=True)
class Identity:
    """A signer as the chaincode sees it: MSP id, certificate OU, Fabric CA attributes."""

    msp_id: str
    name: str
    attrs: tuple[tuple[str, str], ...] = ()
    ou: str = "client"

    @property
    def creator(self) -> bytes:
        return _creator(self)


@cache
def _creator(who: Identity) -> bytes:
    return make_creator(who.msp_id, who.name, dict(who.attrs) or None, who.msp_id, who.ou)


@dataclass
class Event:
    name: str
    payload: dict[str, Any]


def sandbox_config(chaincode: str) -> ChaincodeConfig:
    """The configuration the sandbox writes for `chaincode` from network/topology.yaml."""
    return ChaincodeConfig.model_validate(chaincode_config(load_topology(port_offset=0), chaincode))


def _argument(value: Any) -> str | bytes:
    if isinstance(value, str | bytes):
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


# The registry's private data collection and its members (network/topology.yaml, resolved on
# BSP 1's channel): a read or write by any other MSP is refused as Fabric's peer refuses it
# (memberOnlyRead, memberOnlyWrite), before the chaincode decides anything.
COLLECTIONS = {"settlement": frozenset({"TSOMSP", "BSPHostMSP", "BSP1MSP"})}


class CollectionPeer(FakePeer):
    """A FakePeer that knows the registry's collections and who may read and write them."""

    creator_msp = ""  # the MSP of the transaction running now (one at a time)

    def _serve(self, request: m.ChaincodeMessage, sim: Simulation) -> bytes:
        collection = _collection(request)
        if collection:
            members = COLLECTIONS.get(collection)
            if members is None:
                raise LookupError(f"collection {collection} could not be found")
            if self.creator_msp not in members:
                access = "write" if request.type in _WRITES else "read"
                raise LookupError(
                    f"tx creator does not have {access} access permission on privatedata in "
                    f"chaincodeName:registry collectionName: {collection}"
                )
        return super()._serve(request, sim)


_WRITES = (m.PUT_STATE, m.DEL_STATE, m.PURGE_PRIVATE_DATA, m.PUT_STATE_METADATA)
_KEYED = {
    m.GET_STATE: shim.GetState,
    m.GET_PRIVATE_DATA_HASH: shim.GetState,
    m.PUT_STATE: shim.PutState,
    m.DEL_STATE: shim.DelState,
    m.PURGE_PRIVATE_DATA: shim.DelState,
    m.GET_STATE_MULTIPLE: shim.GetStateMultiple,
    m.PUT_STATE_METADATA: shim.PutStateMetadata,
    m.GET_STATE_METADATA: shim.GetStateMetadata,
    m.GET_STATE_BY_RANGE: shim.GetStateByRange,
}


def _collection(request: m.ChaincodeMessage) -> str:
    kind = _KEYED.get(request.type)
    return str(kind.FromString(request.payload).collection) if kind is not None else ""


class FakeLedger:
    """``submit``/``evaluate`` run one transaction of a contract (the registry unless another
    is given) on a FakePeer."""

    def __init__(self, contract: Contract | None = None, channel_id: str = "bsp1-channel") -> None:
        served: Contract = contract or RegistryContract()
        router = ContractRouter([served], config=sandbox_config(served.contract_name))
        # no write batches offered: each write is a request of its own, so a write made
        # before a refusal shows in refused_writes
        self.peer = CollectionPeer(
            router, chaincode_id=f"{served.contract_name}:1", channel_id=channel_id
        )
        self.peer.connect()
        weakref.finalize(self, self.peer.close)
        self.events: list[Event] = []
        self.last_tx_id = ""
        self.refused_writes: dict[str, bytes | None] = {}  # what the last refusal had written

    @property
    def state(self) -> dict[str, bytes]:
        """The committed world state (private data aside), by key."""
        return {
            key: value for (collection, key), value in self.peer.state.items() if not collection
        }

    @property
    def private(self) -> dict[tuple[str, str], bytes]:
        """The committed private data, by (collection, key)."""
        return {place: value for place, value in self.peer.state.items() if place[0]}

    def _run(
        self,
        who: Identity,
        function: str,
        args: tuple[Any, ...],
        commit: bool,
        transient: dict[str, Any] | None = None,
    ) -> Any:
        raw = {
            k: v if isinstance(v, bytes) else json.dumps(v).encode()
            for k, v in (transient or {}).items()
        }
        self.peer.creator_msp = who.msp_id
        outcome = self.peer.invoke(
            function,
            *map(_argument, args),
            creator=who.creator,
            commit=commit,
            transient=raw or None,
        )
        self.last_tx_id = outcome.txid
        if outcome.status != 200:
            self.refused_writes = _written(outcome.writes)
            raise ChaincodeError(outcome.error, outcome.status)
        if not commit and outcome.writes:
            raise AssertionError(f"evaluate {function} wrote {sorted(_written(outcome.writes))}")
        event = outcome.message.chaincode_event
        if commit and event.event_name:
            self.events.append(Event(event.event_name, json.loads(event.payload)))
        return json.loads(outcome.payload) if outcome.payload else None

    def submit(
        self, who: Identity, function: str, *args: Any, transient: dict[str, Any] | None = None
    ) -> Any:
        return self._run(who, function, args, commit=True, transient=transient)

    def evaluate(self, who: Identity, function: str, *args: Any) -> Any:
        return self._run(who, function, args, commit=False)

    def snapshot(self) -> tuple[dict[str, bytes], int, dict[tuple[str, str], bytes]]:
        return dict(self.state), len(self.events), dict(self.private)


def _written(requests: list[m.ChaincodeMessage]) -> dict[str, bytes | None]:
    """The keys a transaction's write requests touched: value, or None for a delete."""
    out: dict[str, bytes | None] = {}
    for r in requests:
        if r.type == m.PUT_STATE:
            put = shim.PutState.FromString(r.payload)
            out[put.key] = put.value
        elif r.type == m.DEL_STATE:
            out[shim.DelState.FromString(r.payload).key] = None
        else:  # metadata or a batch: named by its kind
            out[m.message_type_name(r.type)] = r.payload
    return out


# --- the sandbox's participants (network/topology.yaml) and request builders -------------------

TSO_EIC = "10X1001A1001A345"
BSP1_EIC = "10XIT-BSP-ALFA-U"
BSP2_EIC = "10XIT-BSP-BETA-3"
ARETI_EIC = "10XIT-ARETI----C"
SC_WEB_EIC = "10YIT-GRTN-----B"

TSO = Identity("TSOMSP", "User1@tso.cbp.local", (("role", "TSO"), ("eic", TSO_EIC)))
TSO_ADMIN = Identity("TSOMSP", "Admin@tso.cbp.local", ou="admin")
TSO_PLAIN = Identity("TSOMSP", "User2@tso.cbp.local")
BSP1 = Identity("BSP1MSP", "User1@bsp1.cbp.local", (("role", "BSP"), ("eic", BSP1_EIC)))
BSP2 = Identity("BSP2MSP", "User1@bsp2.cbp.local", (("role", "BSP"), ("eic", BSP2_EIC)))
ARETI = Identity("ARETIMSP", "User1@areti.cbp.local", (("role", "DSO"), ("eic", ARETI_EIC)))
STRANGER = Identity("BSPHostMSP", "User1@bsphost.cbp.local")

POD1 = "IT002E00112233"
POD2 = "IT002E00445566"


def participant(msp: str, eic: str, role: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"mspId": msp, "eic": eic, "role": role, "name": name, **extra}


def bootstrapped() -> FakeLedger:
    """A registry where the TSO bootstrapped itself and admitted BSP Alfa, BSP Beta and Areti."""
    ledger = FakeLedger()
    ledger.submit(TSO, "AdmitParticipant", participant("TSOMSP", TSO_EIC, "TSO", "Terna S.p.A."))
    ledger.submit(TSO, "AdmitParticipant", participant("BSP1MSP", BSP1_EIC, "BSP", "BSP Alfa"))
    ledger.submit(TSO, "AdmitParticipant", participant("BSP2MSP", BSP2_EIC, "BSP", "BSP Beta"))
    ledger.submit(
        TSO,
        "AdmitParticipant",
        participant("ARETIMSP", ARETI_EIC, "DSO", "Areti S.p.A.", distributorCode="002"),
    )
    ledger.events.clear()
    return ledger


def header(owner: str = BSP1_EIC) -> dict[str, Any]:
    return {
        "registrationPeriod": 1772355600,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "flexibilityServiceProviderId": owner,
        "flexibilityServiceProviderCodingSchemeType": "A01",
    }


def pod(pod_id: str = POD1, owner: str = BSP1_EIC, **changes: Any) -> dict[str, Any]:
    data = {
        **header(owner),
        "meteringPointId": pod_id,
        "resourceType": "GridConnectionPoint",
        "status": "registered",
        "locationId": "Roma-Ostiense",
        "resourceName": "Parking Ostiense",
        "resourceId": f"RES-{pod_id}",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": ARETI_EIC,
        "startDateTime": "2026-03-01T00:00:00Z",
        "endDateTime": "2027-03-01T00:00:00Z",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def device(device_id: str, parent: str = POD1, **changes: Any) -> dict[str, Any]:
    data = {
        **header(),
        "resourceId": device_id,
        "parentResourceId": parent,
        "deviceType": "EVSE",
        "resourceName": f"Charger {device_id}",
        "resourceType": "EV charger",
        "status": "registered",
        "direction": "consumption",
        "contractedPower": 22.0,
        "maximumFlexUp": 22.0,
        "maximumFlexDown": 22.0,
        "startDateTime": 1772323200,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


PDF = b"%PDF-1.7\n% single-line diagram\n"


def attachment(target: dict[str, str], **changes: Any) -> dict[str, Any]:
    import base64

    data = {
        **target,
        "senderId": BSP1_EIC,
        "senderCodingSchemeType": "A01",
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "externalDocumentId": "single-line-diagram.pdf",
        "documentType": "SingleLineDiagram",
        "mimeType": "application/pdf",
        "documentFile": base64.b64encode(PDF).decode(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def uvam(uvam_id: str = "UVAM-ROMA-1", **changes: Any) -> dict[str, Any]:
    data = {
        "resourceGroupId": uvam_id,
        "flexibilityServiceProviderId": BSP1_EIC,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "technicalFlexibilityServiceProviderId": SC_WEB_EIC,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "type": "UVAM",
        "name": "Rome EV aggregate",
        "status": "registered",
        "perimeter": "Centro-Sud",
        "maximumQualifiedPower": 200.0,
        "minimumQualifiedPower": 150.0,
        "marketType": "MSD",
        "period": "2026",
        "startDateTime": "2026-04-01T00:00:00Z",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def relation(uvam_id: str, resource: str) -> dict[str, Any]:
    return {
        "resourceGroupId": uvam_id,
        "resource": resource,
        "flexibilityServiceProviderId": BSP1_EIC,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
    }


def connection(uvam_id: str, **changes: Any) -> dict[str, Any]:
    data = {
        "resourceGroupId": uvam_id,
        "flexibilityServiceProviderId": BSP1_EIC,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "externalDocumentId": "connection.xml",
        "type": "IEC-104",
        "manufacturer": "ABB",
        "ipAddress": "10.20.30.40",
        "fullScaleMin": -250.0,
        "fullScaleMax": 250.0,
    }
    data.update(changes)
    return data


def pod_status(pod_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"flexResourceId": pod_id, "status": status, **extra}


def validated_pod(ledger: FakeLedger, pod_id: str, devices: tuple[str, ...] = ()) -> None:
    """Take a POD through its whole journey to Validated."""
    ledger.submit(BSP1, "RegisterPod", pod(pod_id))
    for device_id in devices:
        ledger.submit(BSP1, "RegisterDevice", device(device_id, pod_id))
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": pod_id}))
    ledger.submit(BSP1, "UpdatePodStatus", pod_status(pod_id, "UnderReview"))
    ledger.submit(TSO, "UpdatePodStatus", pod_status(pod_id, "PreValidated"))
    ledger.submit(ARETI, "UpdatePodStatus", pod_status(pod_id, "Validated"))
