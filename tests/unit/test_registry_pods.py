"""The POD journey and its reads on the in-memory ledger: events, history, lists, updates."""

from __future__ import annotations

import pytest
from registry_fakes import (
    ARETI,
    ARETI_EIC,
    BSP1,
    BSP1_EIC,
    BSP2,
    POD1,
    POD2,
    TSO,
    attachment,
    bootstrapped,
    device,
    pod,
    pod_status,
)

from chaincode.runtime import ChaincodeError


def test_registry_pod_whole_journey_with_events_in_order() -> None:
    ledger = bootstrapped()
    record = ledger.submit(BSP1, "RegisterPod", pod())
    assert record["status"] == "Registered" and record["attachmentIds"] == []
    ledger.submit(BSP1, "RegisterDevice", device("EVSE-1"))
    ledger.submit(BSP1, "RegisterDevice", device("EVSE-2"))
    att = ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    assert att["size"] == 31 and len(att["sha256"]) == 64 and "documentFile" not in att
    assert ledger.evaluate(BSP1, "ReadPod", POD1)["status"] == "Open"
    ledger.submit(BSP1, "UpdatePodStatus", pod_status(POD1, "UnderReview"))
    ledger.submit(TSO, "UpdatePodStatus", pod_status(POD1, "PreValidated"))
    ledger.submit(ARETI, "SetPodConstraints", POD1, {"maximumFlexUp": 80.0, "note": "feeder 12"})
    final = ledger.submit(
        ARETI,
        "UpdatePodStatus",
        pod_status(POD1, "Validated", constraints={"maximumFlexDown": 60.0}),
    )
    assert final["status"] == "Validated"
    assert final["dsoConstraints"]["maximumFlexDown"] == 60.0
    assert final["tsoReview"]["decision"] == "PreValidated"

    names = [e.name for e in ledger.events]
    assert names == [
        "PodRegistered",
        "DeviceRegistered",
        "DeviceRegistered",
        "PodOpened",
        "PodSubmittedForReview",
        "PodPreValidated",
        "PodConstraintsSet",
        "PodValidated",
    ]
    opened = ledger.events[3].payload
    assert [c["event"] for c in opened["changes"]] == ["AttachmentCreated", "PodOpened"]
    steps = [
        (e.payload["from"], e.payload["to"], e.payload["actor"]["mspId"])
        for e in ledger.events
        if e.payload["entity"] == "POD" and e.payload["from"] != e.payload["to"]
    ]
    assert steps == [
        (None, "Registered", "BSP1MSP"),
        ("Registered", "Open", "BSP1MSP"),
        ("Open", "UnderReview", "BSP1MSP"),
        ("UnderReview", "PreValidated", "TSOMSP"),
        ("PreValidated", "Validated", "ARETIMSP"),
    ]
    for event in ledger.events:
        assert event.payload["txId"] and event.payload["timestamp"].endswith("Z")
    # The DSO learns of PODs to analyse from the events naming it.
    assert ledger.events[5].payload["changes"][0]["dso"] == ARETI_EIC


def test_registry_pod_history_lists_every_version_with_tx_and_actor() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    ledger.submit(BSP1, "UpdatePod", {"meteringPointId": POD1, "resourceName": "Renamed"})
    ledger.submit(BSP1, "UpdatePodStatus", pod_status(POD1, "UnderReview"))
    ledger.submit(TSO, "UpdatePodStatus", pod_status(POD1, "Rejected", reason="no diagram"))
    history = ledger.evaluate(TSO, "GetPodHistory", POD1)
    assert [h["value"]["status"] for h in history] == [
        "Registered",
        "Open",
        "Open",
        "UnderReview",
        "Rejected",
    ]
    assert [h["actor"]["mspId"] for h in history] == ["BSP1MSP"] * 4 + ["TSOMSP"]
    assert len({h["txId"] for h in history}) == 5
    assert all(h["value"]["lastTxId"] == h["txId"] for h in history)
    assert history[2]["value"]["resourceName"] == "Renamed"
    assert history[-1]["value"]["tsoReview"]["reason"] == "no diagram"
    assert ledger.events[-1].payload["changes"][0]["reason"] == "no diagram"


def test_registry_pod_update_while_open_rechecks_every_field() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod(locationId="Roma"))
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    updated = ledger.submit(
        BSP1, "UpdatePod", {"meteringPointId": POD1, "contractedPower": 300.0, "locationId": None}
    )
    assert updated["contractedPower"] == 300.0 and "locationId" not in updated
    assert updated["attachmentIds"] and updated["status"] == "Open"
    with pytest.raises(ChaincodeError, match="maximumFlexUp 120 kW exceeds contractedPower 100"):
        ledger.submit(BSP1, "UpdatePod", {"meteringPointId": POD1, "contractedPower": 100.0})


def test_registry_pod_lists_by_owner_status_and_dso_with_pagination() -> None:
    ledger = bootstrapped()
    codes = [f"IT002E0000000{i}" for i in range(5)]
    for code in codes:
        ledger.submit(BSP1, "RegisterPod", pod(code))
    ledger.submit(BSP2, "RegisterPod", pod(POD2, owner="10XIT-BSP-BETA-3"))
    page = ledger.evaluate(BSP1, "ListPodsByOwner", BSP1_EIC, 2, "")
    seen = [r["meteringPointId"] for r in page["records"]]
    while page["bookmark"]:
        page = ledger.evaluate(BSP1, "ListPodsByOwner", BSP1_EIC, 2, page["bookmark"])
        seen += [r["meteringPointId"] for r in page["records"]]
    assert seen == codes
    by_status = ledger.evaluate(TSO, "ListPodsByStatus", "registered", 100, "")
    assert by_status["fetchedCount"] == 6
    assert ledger.evaluate(BSP1, "ListPodsByStatus", "Registered", 100, "")["records"] == [
        r for r in by_status["records"] if r["flexibilityServiceProviderId"] == BSP1_EIC
    ]
    assert len(ledger.evaluate(ARETI, "ListPodsByDso", ARETI_EIC, 100, "")["records"]) == 6
    with pytest.raises(ChaincodeError, match="may list only its own PODs") as info:
        ledger.evaluate(BSP2, "ListPodsByOwner", BSP1_EIC, 10, "")
    assert info.value.status == 403


def test_registry_pod_status_index_follows_every_transition() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    ledger.submit(BSP1, "UpdatePodStatus", pod_status(POD1, "Under Review"))
    counts = {
        s: ledger.evaluate(TSO, "ListPodsByStatus", s, 10, "")["fetchedCount"]
        for s in ("Registered", "Open", "UnderReview")
    }
    assert counts == {"Registered": 0, "Open": 0, "UnderReview": 1}


def test_registry_pod_reads_respect_ownership_and_the_named_dso() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "RegisterDevice", device("EVSE-1"))
    assert ledger.evaluate(ARETI, "ReadDevice", "EVSE-1")["meteringPointId"] == POD1
    assert ledger.evaluate(TSO, "ReadPod", POD1)["status"] == "Registered"
    for function, key in (("ReadPod", POD1), ("ReadDevice", "EVSE-1"), ("GetPodHistory", POD1)):
        with pytest.raises(ChaincodeError, match="is not visible to BSP2MSP") as info:
            ledger.evaluate(BSP2, function, key)
        assert info.value.status == 403
    devices = ledger.evaluate(BSP1, "ListDevicesByPod", POD1, 10, "")
    assert [d["resourceId"] for d in devices["records"]] == ["EVSE-1"]


def test_registry_pod_explicit_open_needs_a_complete_pod() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    with pytest.raises(ChaincodeError, match="is not complete; link an attachment") as info:
        ledger.submit(BSP1, "UpdatePodStatus", pod_status(POD1, "Open"))
    assert info.value.status == 409


def test_registry_pod_rejection_needs_a_reason() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    ledger.submit(BSP1, "UpdatePodStatus", pod_status(POD1, "UnderReview"))
    with pytest.raises(ChaincodeError, match="moving to Rejected needs a reason"):
        ledger.submit(TSO, "UpdatePodStatus", pod_status(POD1, "Rejected"))
