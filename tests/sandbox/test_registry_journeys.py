"""The registry on the running sandbox, through tenant identities and the gateway client.

The POD journey end to end (gateway -> engine -> chaincode runtime -> registry), its
events as a listener sees them, a refusal that leaves the ledger as it was, and BSP segregation
by channel.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gateway import EndorseError, Gateway, GatewayError, from_profile
from network.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

TSO_EIC = "10X1001A1001A345"
BSP1_EIC = "10XIT-BSP-ALFA-U"
BSP2_EIC = "10XIT-BSP-BETA-3"
ARETI_EIC = "10XIT-ARETI----C"
PARTICIPANTS = [
    {"mspId": "TSOMSP", "eic": TSO_EIC, "role": "TSO", "name": "Terna S.p.A."},
    {"mspId": "BSP1MSP", "eic": BSP1_EIC, "role": "BSP", "name": "BSP Alfa Energia"},
    {"mspId": "BSP2MSP", "eic": BSP2_EIC, "role": "BSP", "name": "BSP Beta Flex"},
    {
        "mspId": "ARETIMSP",
        "eic": ARETI_EIC,
        "role": "DSO",
        "name": "Areti",
        "distributorCode": "002",
    },
]


# One gateway per peer of the BSP channels (tso, bsphost, dsohost), to wait for every peer.
_PEER_GATEWAYS: dict[str, Gateway] = {}


def _gateway(org: str, profile_path: str) -> Iterator[Gateway]:
    with from_profile(org, "User1", profile_path) as gw:
        if org in ("tso", "bsp1", "areti"):
            _PEER_GATEWAYS[org] = gw
        yield gw
        _PEER_GATEWAYS.pop(org, None)


class SyncedContract:
    """The registry as the journeys use it: a submit returns once EVERY peer of the channel has
    committed it. A gateway reports a commit on its own peer; on real Fabric the next actor's peer
    (the TSO's, say) may be a moment behind, and would still see the POD in its old state."""

    def __init__(self, gw: Gateway, channel: str) -> None:
        self.channel = channel
        self.contract = gw.get_network(channel).get_contract("registry")

    def submit_transaction(self, name: str, *args: Any) -> bytes:
        commit = self.contract.new_proposal(name, *args).endorse().submit()
        status = commit.get_status()
        status.raise_for_status()
        deadline = time.monotonic() + 30
        for gw in list(_PEER_GATEWAYS.values()):
            network = gw.get_network(self.channel)
            while network.get_chain_info().height <= status.block_number:
                if time.monotonic() > deadline:
                    raise AssertionError(f"a peer never reached block {status.block_number}")
                time.sleep(0.05)
        return commit.result or b""

    def evaluate_transaction(self, name: str, *args: Any) -> bytes:
        return self.contract.evaluate_transaction(name, *args)

    def new_proposal(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.contract.new_proposal(name, *args, **kwargs)


@pytest.fixture(scope="module")
def tso(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    yield from _gateway("tso", profile_path)


@pytest.fixture(scope="module")
def bsp1(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    yield from _gateway("bsp1", profile_path)


@pytest.fixture(scope="module")
def bsp2(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    yield from _gateway("bsp2", profile_path)


@pytest.fixture(scope="module")
def areti(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    yield from _gateway("areti", profile_path)


def registry(gw: Gateway, channel: str = "bsp1-channel") -> SyncedContract:
    return SyncedContract(gw, channel)


@pytest.fixture(scope="module", autouse=True)
def admitted(tso: Gateway) -> None:
    """The TSO bootstraps both BSP channels' registries (other modules may have already)."""
    for channel in ("bsp1-channel", "bsp2-channel"):
        for body in PARTICIPANTS:
            try:
                registry(tso, channel).submit_transaction("AdmitParticipant", json.dumps(body))
            except EndorseError as exc:
                if "AlreadyExists" not in str(exc):
                    raise


def new_pod_code() -> str:
    return f"IT002E{uuid.uuid4().int % 10**8:08d}"


def pod(code: str) -> dict[str, Any]:
    return {
        "registrationPeriod": 1772355600,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "flexibilityServiceProviderId": BSP1_EIC,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "meteringPointId": code,
        "resourceType": "GridConnectionPoint",
        "status": "registered",
        "resourceName": "Parking Ostiense",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": ARETI_EIC,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


def charger(code: str, device_id: str) -> dict[str, Any]:
    return {
        **{
            k: v for k, v in pod(code).items() if k.startswith(("registration", "receiver", "flex"))
        },
        "resourceId": device_id,
        "parentResourceId": code,
        "deviceType": "EVSE",
        "resourceName": f"Charger {device_id}",
        "resourceType": "EV charger",
        "direction": "consumption",
        "contractedPower": 22.0,
        "maximumFlexUp": 22.0,
        "maximumFlexDown": 22.0,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


def diagram(code: str) -> dict[str, Any]:
    return {
        "meteringPointId": code,
        "senderId": BSP1_EIC,
        "senderCodingSchemeType": "A01",
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "externalDocumentId": "single-line-diagram.pdf",
        "documentType": "SingleLineDiagram",
        "mimeType": "application/pdf",
        "documentFile": base64.b64encode(b"%PDF-1.7\n% single-line diagram\n").decode(),
    }


def status(code: str, target: str, **extra: Any) -> str:
    return json.dumps({"flexResourceId": code, "status": target, **extra})


def test_registry_pod_journey_on_the_ledger(bsp1: Gateway, tso: Gateway, areti: Gateway) -> None:
    code = new_pod_code()
    first = registry(bsp1).new_proposal("RegisterPod", json.dumps(pod(code))).endorse().submit()
    assert first.get_status().successful
    start = first.get_status().block_number
    registry(bsp1).submit_transaction("RegisterDevice", json.dumps(charger(code, f"{code}-EVSE-1")))
    registry(bsp1).submit_transaction("RegisterDevice", json.dumps(charger(code, f"{code}-EVSE-2")))
    registry(bsp1).submit_transaction("CreateAttachment", json.dumps(diagram(code)))
    registry(bsp1).submit_transaction("UpdatePodStatus", status(code, "UnderReview"))
    registry(tso).submit_transaction("UpdatePodStatus", status(code, "PreValidated"))
    registry(areti).submit_transaction(
        "SetPodConstraints", code, json.dumps({"maximumFlexUp": 90.0, "note": "feeder 12"})
    )
    final = json.loads(
        registry(areti).submit_transaction("UpdatePodStatus", status(code, "Validated"))
    )
    assert final["status"] == "Validated" and final["dsoConstraints"]["maximumFlexUp"] == 90.0

    seen = []
    with tso.get_network("bsp1-channel").chaincode_events(
        "registry", start_block=start, timeout=10
    ) as events:
        for event in events:
            payload = json.loads(event.payload)
            if any(
                c.get("id", "").startswith(code) or c.get("target") == f"POD {code}"
                for c in payload["changes"]
            ):
                seen.append((event.event_name, payload["actor"]["mspId"]))
            if event.event_name == "PodValidated" and payload["id"] == code:
                break
    assert seen == [
        ("PodRegistered", "BSP1MSP"),
        ("DeviceRegistered", "BSP1MSP"),
        ("DeviceRegistered", "BSP1MSP"),
        ("PodOpened", "BSP1MSP"),
        ("PodSubmittedForReview", "BSP1MSP"),
        ("PodPreValidated", "TSOMSP"),
        ("PodConstraintsSet", "ARETIMSP"),
        ("PodValidated", "ARETIMSP"),
    ]
    history = json.loads(registry(tso).evaluate_transaction("GetPodHistory", code))
    assert [h["value"]["status"] for h in history] == [
        "Registered",
        "Open",
        "UnderReview",
        "PreValidated",
        "PreValidated",
        "Validated",
    ]
    assert history[0]["txId"] == first.transaction_id


def test_registry_refusal_on_the_ledger_changes_nothing(bsp1: Gateway, areti: Gateway) -> None:
    code = new_pod_code()
    registry(bsp1).submit_transaction("RegisterPod", json.dumps(pod(code)))
    before = registry(bsp1).evaluate_transaction("ReadPod", code)
    with pytest.raises(EndorseError) as info:
        registry(bsp1).submit_transaction(
            "UpdatePod", json.dumps({"meteringPointId": code, "resourceName": "x"})
        )
    assert f"WrongState: POD {code} is Registered; information can change only while Open" in str(
        info.value
    )
    with pytest.raises(EndorseError, match="only the DSO named on the POD"):
        registry(bsp1).submit_transaction("UpdatePodStatus", status(code, "Validated"))
    assert registry(bsp1).evaluate_transaction("ReadPod", code) == before


def test_registry_bsp2_cannot_read_bsp1_pods(bsp1: Gateway, bsp2: Gateway, tso: Gateway) -> None:
    code = new_pod_code()
    registry(bsp1).submit_transaction("RegisterPod", json.dumps(pod(code)))
    with pytest.raises(GatewayError):
        registry(bsp2, "bsp1-channel").evaluate_transaction("ReadPod", code)
    with pytest.raises(GatewayError):
        registry(bsp2, "bsp1-channel").evaluate_transaction("ListPodsByOwner", BSP1_EIC, "10", "")
    with pytest.raises(GatewayError, match="is not registered"):
        registry(bsp2, "bsp2-channel").evaluate_transaction("ReadPod", code)
    on_bsp2 = json.loads(
        registry(tso, "bsp2-channel").evaluate_transaction("ListPodsByOwner", BSP1_EIC, "100", "")
    )
    assert on_bsp2["records"] == []


def validated(bsp1: Gateway, tso: Gateway, areti: Gateway) -> str:
    code = new_pod_code()
    registry(bsp1).submit_transaction("RegisterPod", json.dumps(pod(code)))
    registry(bsp1).submit_transaction("CreateAttachment", json.dumps(diagram(code)))
    registry(bsp1).submit_transaction("UpdatePodStatus", status(code, "UnderReview"))
    registry(tso).submit_transaction("UpdatePodStatus", status(code, "PreValidated"))
    registry(areti).submit_transaction("UpdatePodStatus", status(code, "Validated"))
    return code


def test_registry_uvam_journey_on_the_ledger(bsp1: Gateway, tso: Gateway, areti: Gateway) -> None:
    members = [validated(bsp1, tso, areti), validated(bsp1, tso, areti)]
    uvam_id = f"UVAM-{uuid.uuid4().hex[:8]}"
    header = {
        "flexibilityServiceProviderId": BSP1_EIC,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
    }
    uvam = {
        **header,
        "resourceGroupId": uvam_id,
        "technicalFlexibilityServiceProviderId": "10YIT-GRTN-----B",
        "type": "UVAM",
        "name": "Rome EV aggregate",
        "perimeter": "Centro-Sud",
        "maximumQualifiedPower": 200.0,
        "minimumQualifiedPower": 150.0,
        "marketType": "MSD",
        "period": "2026",
        "startDateTime": "2026-04-01T00:00:00Z",
    }
    commit = registry(bsp1).new_proposal("RegisterUvam", json.dumps(uvam)).endorse().submit()
    start = commit.get_status().block_number
    relation_ids = [
        json.loads(
            registry(bsp1).submit_transaction(
                "RegisterResourceInGroup",
                json.dumps({**header, "resourceGroupId": uvam_id, "resource": code}),
            )
        )["relationId"]
        for code in members
    ]
    attachment = {**diagram(members[0]), "resourceGroupId": uvam_id}
    del attachment["meteringPointId"]
    registry(bsp1).submit_transaction("CreateAttachment", json.dumps(attachment))
    connection = {
        "resourceGroupId": uvam_id,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "externalDocumentId": "connection.xml",
        "type": "IEC-104",
        "manufacturer": "ABB",
        "ipAddress": "10.20.30.40",
        "fullScaleMin": -250.0,
        "fullScaleMax": 250.0,
    }
    registry(bsp1).submit_transaction("RegisterConnection", json.dumps(connection))
    review = {"resourceGroupId": uvam_id, "status": "UnderReview"}
    registry(bsp1).submit_transaction("UpdateUvamStatus", json.dumps(review))
    qualify = {"resourceGroupId": uvam_id, "status": "Qualified"}
    qualified = json.loads(
        registry(tso).submit_transaction("UpdateUvamStatus", json.dumps(qualify))
    )
    assert qualified["qualification"]["belowMarketMinimum"] is True
    ended = json.loads(
        registry(bsp1).submit_transaction(
            "EndRelation", json.dumps({"relationId": relation_ids[0]})
        )
    )
    assert ended["status"] == "Ended"

    seen = []
    with tso.get_network("bsp1-channel").chaincode_events(
        "registry", start_block=start, timeout=10
    ) as events:
        for event in events:
            payload = json.loads(event.payload)
            if any(
                uvam_id in (c["id"], c.get("uvam"), c.get("target"))
                or c.get("target") == f"UVAM {uvam_id}"
                for c in payload["changes"]
            ):
                seen.append((event.event_name, payload["from"], payload["to"]))
            if event.event_name == "RelationEnded" and payload["id"] == relation_ids[0]:
                break
    assert seen == [
        ("UvamRegistered", None, "Registered"),
        ("RelationRegistered", None, "Active"),
        ("RelationRegistered", None, "Active"),
        ("AttachmentCreated", None, "Linked"),
        ("UvamOpened", "Registered", "Open"),
        ("UvamSubmittedForReview", "Open", "UnderReview"),
        ("UvamQualified", "UnderReview", "Qualified"),
        ("RelationEnded", "Active", "Ended"),
    ]


# Each refusal the issue lists, on the ledger: (who, transaction, argument builder, message part).
# The POD `code` exists and is Registered, owned by BSP1, before each attempt. Another BSP never
# reaches the chaincode: the channel refuses it ("wrong owner"); the TSO, a member, is refused by
# the chaincode's owner rule ("not the owner").
def _update(code: str) -> str:
    return json.dumps({"meteringPointId": code, "resourceName": "x"})


def _bad_eic(code: str) -> str:
    return json.dumps({**pod(new_pod_code()), "flexibilityServiceProviderId": "10XIT-BSP-ALFA-X"})


def _no_power(code: str) -> str:
    return json.dumps({k: v for k, v in pod(new_pod_code()).items() if k != "contractedPower"})


def _big_attachment(code: str) -> str:
    body = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024 + 1)
    return json.dumps({**diagram(code), "documentFile": base64.b64encode(body).decode()})


REFUSALS: dict[str, tuple[str, str, Any, str]] = {
    "invalid code": ("bsp1", "RegisterPod", _bad_eic, "has a wrong check character"),
    "unknown entity": ("bsp1", "ReadPod", lambda c: "IT002E99999999", "is not registered"),
    "duplicate id": ("bsp1", "RegisterPod", lambda c: json.dumps(pod(c)), "is already registered"),
    "wrong owner": ("bsp2", "UpdatePod", _update, "creator org unknown"),
    "not the owner": ("tso", "UpdatePod", _update, "Forbidden"),
    "wrong role": (
        "bsp1",
        "UpdatePodStatus",
        lambda c: status(c, "Validated"),
        "only the DSO named on the POD",
    ),
    "wrong state": ("bsp1", "UpdatePod", _update, "information can change only while Open"),
    "missing mandatory field": ("bsp1", "RegisterPod", _no_power, "'contractedPower' is mandatory"),
    "oversized attachment": ("bsp1", "CreateAttachment", _big_attachment, "the 5 MB limit"),
    "malformed JSON": ("bsp1", "RegisterPod", lambda c: "{not json", "is not valid JSON"),
    "non-UTF-8 argument": ("bsp1", "RegisterPod", lambda c: b"\xff\xfe\x00", "is not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_registry_each_refusal_changes_nothing_on_the_ledger(
    case: str, bsp1: Gateway, bsp2: Gateway, tso: Gateway
) -> None:
    who, fn, build, message = REFUSALS[case]
    code = new_pod_code()
    registry(bsp1).submit_transaction("RegisterPod", json.dumps(pod(code)))
    network = tso.get_network("bsp1-channel")
    height = network.get_chain_info().height
    before = registry(tso).evaluate_transaction("ReadPod", code)
    caller = {"bsp2": bsp2, "tso": tso}.get(who, bsp1)
    contract = caller.get_network("bsp1-channel").get_contract("registry")
    with pytest.raises(GatewayError) as refused:
        if fn.startswith("Read"):
            contract.evaluate_transaction(fn, build(code))
        else:
            contract.submit_transaction(fn, build(code))
    print(case, "=>", str(refused.value).splitlines()[-1][-160:])
    assert message.lower() in str(refused.value).lower()
    assert network.get_chain_info().height == height, "a refused transaction reached a block"
    assert registry(tso).evaluate_transaction("ReadPod", code) == before


def _cbp(profile_path: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "cbp", *args, "--profile", profile_path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done


def test_audit_history_dates_each_version_by_its_transaction_in_its_block(
    profile_path: str, bsp1: Gateway, tso: Gateway
) -> None:
    """`cbp audit history` gives each version the time stamp its transaction carries in the
    block that committed it (not 1970), and prints it as lines a person reads."""
    code = new_pod_code()
    blocks: dict[str, int] = {}
    for function, body in (
        ("RegisterPod", pod(code)),
        ("CreateAttachment", diagram(code)),  # opens the POD: a second version
        ("UpdatePodStatus", json.loads(status(code, "UnderReview"))),
    ):
        commit = registry(bsp1).new_proposal(function, json.dumps(body)).endorse().submit()
        assert commit.get_status().successful
        blocks[commit.transaction_id] = commit.get_status().block_number
    history = json.loads(
        _cbp(profile_path, "audit", "history", "bsp1-channel", code, "--json").stdout
    )
    assert [h["value"]["status"] for h in history] == ["Registered", "Open", "UnderReview"]
    for version in history:
        block = json.loads(
            _cbp(
                profile_path,
                "audit",
                "block",
                "bsp1-channel",
                str(blocks[version["txId"]]),
                "--json",
            ).stdout
        )
        (in_block,) = [t for t in block["transactions"] if t["transaction_id"] == version["txId"]]
        committed = dt.datetime.fromisoformat(in_block["timestamp"])
        assert dt.datetime.fromisoformat(version["timestamp"]) == committed
        assert abs(dt.datetime.now(dt.UTC) - committed) < dt.timedelta(minutes=5)
    text = _cbp(profile_path, "audit", "history", "bsp1-channel", code).stdout
    lines = text.splitlines()
    assert lines[0] == f"history of {code} on bsp1-channel: 3 version(s), oldest first"
    for n, version in enumerate(history, 1):
        assert f"version {n}  {version['timestamp']}  by BSP1MSP BSP {BSP1_EIC}" in lines
    assert "1970-01-01" not in text
    assert any(line.split() == ["status", "Open", "->", "UnderReview"] for line in lines)
    assert max(len(line) for line in lines) <= 120
