"""An in-memory ledger for the registry's unit tests: stub, client identity and context.

It models what the registry relies on from Fabric: reads see committed state only (never the
transaction's own writes), a transaction's writes are applied only when it succeeds, composite
keys use Fabric's NUL layout, paginated queries return a bookmark, history lists every
committed version, and a transaction keeps only its last event. Claims about the real ledger
belong to the sandbox tests; this is for logic and refusals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chaincode.registry import RegistryContract
from chaincode.runtime import ChaincodeConfig
from network.chaincode_servers import chaincode_config
from network.topology import load_topology

NS = "\x00"
MAX_UNICODE = "\U0010ffff"


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes


@dataclass(frozen=True)
class KeyModification:
    tx_id: str
    value: bytes
    timestamp: dt.datetime
    is_delete: bool


@dataclass(frozen=True)
class QueryMetadata:
    fetched_records_count: int
    bookmark: str


@cache
def _certificate(common_name: str, organization: str, ou: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class Identity:
    """A signer as the chaincode sees it: MSP id, certificate OU, Fabric CA attributes."""

    msp_id: str
    name: str
    attrs: tuple[tuple[str, str], ...] = ()
    ou: str = "client"

    def get_msp_id(self) -> str:
        return self.msp_id

    def get_id(self) -> str:
        return f"x509::/O={self.msp_id}/OU={self.ou}/CN={self.name}::/O={self.msp_id}/CN=ca"

    def get_attribute_value(self, name: str) -> str | None:
        return dict(self.attrs).get(name)

    def get_x509_certificate(self) -> x509.Certificate:
        return _certificate(self.name, self.msp_id, self.ou)


class FakeStub:
    def __init__(self, ledger: FakeLedger, tx_id: str, timestamp: dt.datetime) -> None:
        self.ledger = ledger
        self.tx_id = tx_id
        self.timestamp = timestamp
        self.writes: dict[str, bytes | None] = {}
        self.event: tuple[str, bytes] | None = None

    def get_tx_id(self) -> str:
        return self.tx_id

    def get_tx_timestamp(self) -> dt.datetime:
        return self.timestamp

    def get_state(self, key: str) -> bytes:
        return self.ledger.state.get(key, b"")

    def get_multiple_states(self, keys: list[str]) -> list[bytes]:
        return [self.ledger.state.get(key, b"") for key in keys]

    def put_state(self, key: str, value: bytes) -> None:
        if not value:
            raise ValueError(
                f"put_state of {key!r} with an empty value (Fabric treats it as a delete)"
            )
        self.writes[key] = bytes(value)

    def del_state(self, key: str) -> None:
        self.writes[key] = None

    @staticmethod
    def create_composite_key(object_type: str, attributes: list[str]) -> str:
        for part in (object_type, *attributes):
            if NS in part or MAX_UNICODE in part:
                raise ValueError(f"composite key part {part!r} holds a reserved character")
        return NS + object_type + NS + "".join(a + NS for a in attributes)

    @staticmethod
    def split_composite_key(key: str) -> tuple[str, list[str]]:
        parts = key[1:].split(NS)[:-1]
        return parts[0], parts[1:]

    def _partial(self, object_type: str, attributes: list[str]) -> list[KV]:
        prefix = self.create_composite_key(object_type, attributes)
        return [KV(k, v) for k, v in sorted(self.ledger.state.items()) if k.startswith(prefix)]

    def get_state_by_partial_composite_key(
        self, object_type: str, attributes: list[str]
    ) -> Iterator[KV]:
        return iter(self._partial(object_type, attributes))

    def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str = ""
    ) -> tuple[list[KV], QueryMetadata]:
        matches = [kv for kv in self._partial(object_type, attributes) if kv.key >= bookmark]
        page = matches[:page_size]
        following = matches[page_size].key if len(matches) > page_size else ""
        return page, QueryMetadata(len(page), following)

    def get_history_for_key(self, key: str) -> Iterator[KeyModification]:
        # Fabric yields a key's history newest first.
        return iter(list(reversed(self.ledger.history.get(key, []))))

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, payload)


@dataclass
class FakeContext:
    stub: FakeStub
    client_identity: Identity


@dataclass
class Event:
    name: str
    payload: dict[str, Any]


def sandbox_config(chaincode: str) -> ChaincodeConfig:
    """The configuration the sandbox writes for `chaincode` from network/topology.yaml."""
    return ChaincodeConfig.model_validate(chaincode_config(load_topology(port_offset=0), chaincode))


def configured_registry() -> RegistryContract:
    contract = RegistryContract()
    contract.configure(sandbox_config("registry"))
    return contract


@dataclass
class FakeLedger:
    """World state + history; ``submit``/``evaluate`` run one contract transaction on it."""

    contract: RegistryContract = field(default_factory=configured_registry)
    state: dict[str, bytes] = field(default_factory=dict)
    history: dict[str, list[KeyModification]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    clock: dt.datetime = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    count: int = 0
    refused_writes: dict[str, bytes | None] = field(default_factory=dict)

    def _run(self, who: Identity, function: str, args: tuple[Any, ...], commit: bool) -> Any:
        self.count += 1
        self.clock += dt.timedelta(seconds=2)
        tx_id = hashlib.sha256(f"tx-{self.count}".encode()).hexdigest()
        stub = FakeStub(self, tx_id, self.clock)
        converted = [json.dumps(a).encode() if isinstance(a, dict) else a for a in args]
        try:
            result = getattr(self.contract, function)(FakeContext(stub, who), *converted)
        except Exception:
            # Fabric would drop these, but the registry promises not to write before it has
            # checked everything: tests assert this stays empty.
            self.refused_writes = dict(stub.writes)
            raise
        if commit:
            for key, value in stub.writes.items():
                if value is None:
                    self.state.pop(key, None)
                else:
                    self.state[key] = value
                self.history.setdefault(key, []).append(
                    KeyModification(tx_id, value or b"", self.clock, value is None)
                )
            if stub.event is not None:
                self.events.append(Event(stub.event[0], json.loads(stub.event[1])))
        elif stub.writes or stub.event:
            raise AssertionError(f"evaluate {function} wrote {sorted(stub.writes)}")
        return result

    def submit(self, who: Identity, function: str, *args: Any) -> Any:
        return self._run(who, function, args, commit=True)

    def evaluate(self, who: Identity, function: str, *args: Any) -> Any:
        return self._run(who, function, args, commit=False)

    def snapshot(self) -> tuple[dict[str, bytes], int]:
        return dict(self.state), len(self.events)


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
