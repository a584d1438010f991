"""The UVAM journey on the in-memory ledger: members, attachment, connection, qualification."""

from __future__ import annotations

import pytest
from registry_fakes import (
    ARETI,
    BSP1,
    BSP1_EIC,
    POD1,
    POD2,
    TSO,
    FakeLedger,
    attachment,
    bootstrapped,
    connection,
    device,
    pod,
    relation,
    uvam,
    validated_pod,
)

from chaincode.runtime import ChaincodeError

U = "UVAM-ROMA-1"


def _assembled(ledger: FakeLedger, **changes: object) -> None:
    validated_pod(ledger, POD1)
    validated_pod(ledger, POD2)
    ledger.submit(BSP1, "RegisterUvam", uvam(**changes))
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD2))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": U}))


def test_registry_uvam_whole_journey_with_events_in_order() -> None:
    ledger = bootstrapped()
    _assembled(ledger)
    ledger.events.clear()
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    assert ledger.evaluate(TSO, "ReadUvam", U)["status"] == "Open"
    ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})
    qualified = ledger.submit(
        TSO, "UpdateUvamStatus", {"resourceGroupId": U, "status": "Qualified"}
    )
    assert qualified["status"] == "Qualified"
    q = qualified["qualification"]
    assert q["members"] == 2 and q["membersFlexUp"] == 240.0 and q["membersFlexDown"] == 200.0
    assert q["belowMarketMinimum"] is True and "demo rule" in q["demoRule"]

    relations = ledger.evaluate(BSP1, "ListRelationsByUvam", U, 10, "")["records"]
    ended = ledger.submit(BSP1, "EndRelation", {"relationId": relations[0]["relationId"]})
    assert ended["status"] == "Ended" and ended["endDateTime"].endswith("Z")
    assert ledger.evaluate(TSO, "ReadUvam", U)["activeRelations"] == 1

    assert [e.name for e in ledger.events] == [
        "UvamOpened",
        "UvamSubmittedForReview",
        "UvamQualified",
        "RelationEnded",
    ]
    assert [c["event"] for c in ledger.events[0].payload["changes"]] == [
        "ConnectionRegistered",
        "UvamOpened",
    ]
    history = ledger.evaluate(TSO, "GetUvamHistory", U)
    statuses = [h["value"]["status"] for h in history]
    assert statuses[0] == "Registered" and statuses[-2:] == ["Qualified", "Qualified"]
    assert "Open" in statuses and "UnderReview" in statuses


def test_registry_uvam_relation_id_is_derived_from_the_transaction() -> None:
    ledger = bootstrapped()
    validated_pod(ledger, POD1)
    ledger.submit(BSP1, "RegisterUvam", uvam())
    record = ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    assert record["relationId"] == f"REL-{ledger.last_tx_id[:24]}"
    assert ledger.evaluate(BSP1, "ReadRelation", record["relationId"])["resource"] == POD1


def test_registry_uvam_id_is_derived_when_not_given() -> None:
    ledger = bootstrapped()
    record = ledger.submit(BSP1, "RegisterUvam", uvam(uvam_id=None, resourceGroupId=None))
    assert record["resourceGroupId"].startswith("UVAM-") and len(record["resourceGroupId"]) == 29


def test_registry_uvam_members_must_be_prevalidated_or_validated() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "RegisterUvam", uvam())
    with pytest.raises(ChaincodeError, match="POD IT002E00112233 is Registered; only a") as info:
        ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    assert info.value.status == 409


def test_registry_uvam_behind_the_meter_devices_join_but_not_with_their_pod() -> None:
    ledger = bootstrapped()
    validated_pod(ledger, POD1, devices=("EVSE-1", "EVSE-2"))
    ledger.submit(
        BSP1, "RegisterUvam", uvam(maximumQualifiedPower=40.0, minimumQualifiedPower=40.0)
    )
    first = ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, "EVSE-1"))
    assert first["resourceType"] == "FlexDevice" and first["podId"] == POD1
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, "EVSE-2"))
    with pytest.raises(ChaincodeError, match="already aggregated; a POD and its devices"):
        ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    with pytest.raises(ChaincodeError, match="already in active relation"):
        ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, "EVSE-1"))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": U}))
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})
    q = ledger.submit(TSO, "UpdateUvamStatus", {"resourceGroupId": U, "status": "Qualified"})
    assert q["qualification"]["membersFlexUp"] == 44.0


def test_registry_uvam_qualified_power_is_checked_against_members() -> None:
    ledger = bootstrapped()
    _assembled(ledger, maximumQualifiedPower=250.0)
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    with pytest.raises(ChaincodeError) as info:
        ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})
    assert info.value.message == (
        "InvalidArgument: UVAM UVAM-ROMA-1: maximumQualifiedPower 250 kW exceeds its members' "
        "flexibility up of 240 kW"
    )


def test_registry_uvam_dso_constraints_shrink_member_flexibility() -> None:
    ledger = bootstrapped()
    validated_pod(ledger, POD2)
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    ledger.submit(BSP1, "UpdatePodStatus", {"flexResourceId": POD1, "status": "UnderReview"})
    ledger.submit(TSO, "UpdatePodStatus", {"flexResourceId": POD1, "status": "PreValidated"})
    ledger.submit(
        ARETI,
        "UpdatePodStatus",
        {"flexResourceId": POD1, "status": "Validated", "constraints": {"maximumFlexUp": 10.0}},
    )
    ledger.submit(BSP1, "RegisterUvam", uvam(maximumQualifiedPower=200.0))
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD2))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": U}))
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    with pytest.raises(ChaincodeError, match="flexibility up of 130 kW"):
        ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})


def test_registry_uvam_at_or_above_one_megawatt_is_not_flagged() -> None:
    ledger = bootstrapped()
    big = {"contractedPower": 800.0, "maximumFlexUp": 600.0, "maximumFlexDown": 600.0}
    for code in (POD1, POD2):
        ledger.submit(BSP1, "RegisterPod", pod(code, **big))
        ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": code}))
        ledger.submit(BSP1, "UpdatePodStatus", {"flexResourceId": code, "status": "UnderReview"})
        ledger.submit(TSO, "UpdatePodStatus", {"flexResourceId": code, "status": "PreValidated"})
    ledger.submit(
        BSP1, "RegisterUvam", uvam(maximumQualifiedPower=1200.0, minimumQualifiedPower=1000.0)
    )
    for code in (POD1, POD2):
        ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, code))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": U}))
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})
    q = ledger.submit(TSO, "UpdateUvamStatus", {"resourceGroupId": U, "status": "Qualified"})
    assert q["qualification"]["belowMarketMinimum"] is False
    assert "demoRule" not in q["qualification"]


def test_registry_uvam_update_connection_and_uvam_while_open() -> None:
    ledger = bootstrapped()
    _assembled(ledger)
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    updated = ledger.submit(
        BSP1, "UpdateConnection", {"resourceGroupId": U, "ipAddress": "10.0.0.9"}
    )
    assert updated["ipAddress"] == "10.0.0.9" and updated["manufacturer"] == "ABB"
    assert updated["version"] == 2
    renamed = ledger.submit(BSP1, "UpdateUvam", {"resourceGroupId": U, "name": "Roma Sud"})
    assert renamed["name"] == "Roma Sud" and renamed["status"] == "Open"
    assert renamed["flexibilityServiceProviderId"] == BSP1_EIC
    assert ledger.evaluate(BSP1, "ListUvamsByOwner", BSP1_EIC, 10, "")["fetchedCount"] == 1
    assert ledger.evaluate(TSO, "ListUvamsByStatus", "open", 10, "")["records"][0]["name"] == (
        "Roma Sud"
    )


def test_registry_uvam_submission_needs_every_part() -> None:
    ledger = bootstrapped()
    _assembled(ledger)
    with pytest.raises(ChaincodeError, match="it can move to UnderReview only from Open"):
        ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "UnderReview"})
    with pytest.raises(ChaincodeError, match="is not complete; it needs a connection"):
        ledger.submit(BSP1, "UpdateUvamStatus", {"resourceGroupId": U, "status": "Open"})


def test_registry_uvam_pod_device_needs_validated_pod() -> None:
    ledger = bootstrapped()
    ledger.submit(BSP1, "RegisterPod", pod())
    ledger.submit(BSP1, "RegisterDevice", device("EVSE-1"))
    ledger.submit(BSP1, "RegisterUvam", uvam())
    with pytest.raises(ChaincodeError, match="only a PreValidated or Validated POD"):
        ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, "EVSE-1"))
