"""Every refusal the issue lists: a clear error naming entity and rule, and no state change."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from registry_fakes import (
    ARETI,
    BSP1,
    BSP2,
    POD1,
    TSO,
    FakeLedger,
    Identity,
    attachment,
    bootstrapped,
    connection,
    device,
    pod,
    pod_status,
    relation,
    uvam,
    validated_pod,
)

from chaincode.registry.codes import MAX_ATTACHMENT_BYTES
from chaincode.runtime import ChaincodeError


def registered(ledger: FakeLedger) -> None:
    ledger.submit(BSP1, "RegisterPod", pod())


def under_review(ledger: FakeLedger) -> None:
    registered(ledger)
    ledger.submit(BSP1, "CreateAttachment", attachment({"meteringPointId": POD1}))
    ledger.submit(BSP1, "UpdatePodStatus", pod_status(POD1, "UnderReview"))


def prevalidated(ledger: FakeLedger) -> None:
    under_review(ledger)
    ledger.submit(TSO, "UpdatePodStatus", pod_status(POD1, "PreValidated"))


def qualified_uvam(ledger: FakeLedger) -> None:
    validated_pod(ledger, POD1)
    ledger.submit(
        BSP1, "RegisterUvam", uvam(maximumQualifiedPower=100.0, minimumQualifiedPower=50.0)
    )
    ledger.submit(BSP1, "RegisterResourceInGroup", relation("UVAM-ROMA-1", POD1))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": "UVAM-ROMA-1"}))
    ledger.submit(BSP1, "RegisterConnection", connection("UVAM-ROMA-1"))
    ledger.submit(
        BSP1, "UpdateUvamStatus", {"resourceGroupId": "UVAM-ROMA-1", "status": "UnderReview"}
    )
    ledger.submit(
        TSO, "UpdateUvamStatus", {"resourceGroupId": "UVAM-ROMA-1", "status": "Qualified"}
    )


def nothing(ledger: FakeLedger) -> None:
    return None


OVERSIZED = base64.b64encode(b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES).decode()

Case = tuple[Callable[[FakeLedger], None], Identity, str, tuple[Any, ...], int, str]

CASES: dict[str, Case] = {
    "invalid EIC": (
        nothing,
        BSP1,
        "RegisterPod",
        (pod(receiverId="10X1001A1001A346"),),
        422,
        "InvalidArgument: POD IT002E00112233: field 'receiverId': EIC code '10X1001A1001A346' "
        "has a wrong check character",
    ),
    "invalid POD code": (
        nothing,
        BSP1,
        "RegisterPod",
        (pod("IT002E123"),),
        422,
        "must be IT + 3-digit distributor + E + 8 digits",
    ),
    "POD of another distributor": (
        nothing,
        BSP1,
        "RegisterPod",
        (pod("IT003E00112233"),),
        422,
        "its distributor code is 003 but DSO 10XIT-ARETI----C (Areti S.p.A.) is distributor 002",
    ),
    "DSO not admitted": (
        nothing,
        BSP1,
        "RegisterPod",
        (pod(distributionGridOperatorName="10YIT-GRTN-----B"),),
        422,
        "distributionGridOperatorName 10YIT-GRTN-----B is not an admitted DSO",
    ),
    "receiver not the TSO": (
        nothing,
        BSP1,
        "RegisterPod",
        (pod(receiverId="10XIT-ARETI----C"),),
        422,
        "receiverId 10XIT-ARETI----C must be the TSO 10X1001A1001A345",
    ),
    "unknown POD": (
        nothing,
        BSP1,
        "UpdatePodStatus",
        (pod_status(POD1, "UnderReview"),),
        404,
        "NotFound: POD IT002E00112233 is not registered",
    ),
    "unknown UVAM": (
        nothing,
        BSP1,
        "RegisterResourceInGroup",
        (relation("UVAM-X", POD1),),
        404,
        "UVAM UVAM-X is not registered",
    ),
    "unknown relation": (
        nothing,
        BSP1,
        "EndRelation",
        ({"relationId": "REL-none"},),
        404,
        "relation REL-none does not exist",
    ),
    "device of unknown POD": (
        nothing,
        BSP1,
        "RegisterDevice",
        (device("EVSE-1"),),
        404,
        "POD IT002E00112233 is not registered",
    ),
    "duplicate POD": (
        registered,
        BSP1,
        "RegisterPod",
        (pod(),),
        409,
        "AlreadyExists: POD IT002E00112233 is already registered",
    ),
    "duplicate device": (
        lambda lg: (registered(lg), lg.submit(BSP1, "RegisterDevice", device("EVSE-1"))),
        BSP1,
        "RegisterDevice",
        (device("EVSE-1"),),
        409,
        "flex device EVSE-1 is already registered",
    ),
    "registering for another BSP": (
        nothing,
        BSP2,
        "RegisterPod",
        (pod(),),
        403,
        "Forbidden: only the owning BSP may register POD IT002E00112233",
    ),
    "BSP touching another BSP's POD": (
        registered,
        BSP2,
        "RegisterDevice",
        (device("EVSE-9", flexibilityServiceProviderId="10XIT-BSP-BETA-3"),),
        403,
        "POD IT002E00112233 belongs to BSP 10XIT-BSP-ALFA-U; caller BSP2MSP",
    ),
    "BSP attaching to another BSP's POD": (
        registered,
        BSP2,
        "CreateAttachment",
        (attachment({"meteringPointId": POD1}),),
        403,
        "may not attach a document to it",
    ),
    "BSP validating": (
        prevalidated,
        BSP1,
        "UpdatePodStatus",
        (pod_status(POD1, "Validated"),),
        403,
        "only the DSO named on the POD may move POD IT002E00112233 to Validated",
    ),
    "DSO reviewing for the TSO": (
        under_review,
        ARETI,
        "UpdatePodStatus",
        (pod_status(POD1, "PreValidated"),),
        403,
        "only the TSO may move POD IT002E00112233 to PreValidated",
    ),
    "BSP qualifying its UVAM": (
        lambda lg: (validated_pod(lg, POD1), lg.submit(BSP1, "RegisterUvam", uvam())),
        BSP1,
        "UpdateUvamStatus",
        ({"resourceGroupId": "UVAM-ROMA-1", "status": "Qualified"},),
        403,
        "only the TSO may move UVAM UVAM-ROMA-1 to Qualified",
    ),
    "update while UnderReview": (
        under_review,
        BSP1,
        "UpdatePod",
        ({"meteringPointId": POD1, "resourceName": "x"},),
        409,
        "WrongState: POD IT002E00112233 is UnderReview; information can change only while Open",
    ),
    "update while Registered": (
        registered,
        BSP1,
        "UpdatePod",
        ({"meteringPointId": POD1, "resourceName": "x"},),
        409,
        "POD IT002E00112233 is Registered; information can change only while Open",
    ),
    "TSO approving twice": (
        prevalidated,
        TSO,
        "UpdatePodStatus",
        (pod_status(POD1, "PreValidated"),),
        409,
        "POD IT002E00112233 is PreValidated; it can move to PreValidated only from UnderReview",
    ),
    "device added under review": (
        under_review,
        BSP1,
        "RegisterDevice",
        (device("EVSE-3"),),
        409,
        "POD IT002E00112233 is UnderReview; its flex devices can change only while Registered or Open",
    ),
    "member added to a qualified UVAM": (
        qualified_uvam,
        BSP1,
        "RegisterResourceInGroup",
        (relation("UVAM-ROMA-1", POD1),),
        409,
        "UVAM UVAM-ROMA-1 is Qualified; its members can change only while Registered or Open",
    ),
    "missing mandatory field": (
        nothing,
        BSP1,
        "RegisterPod",
        (pod(distributionGridOperatorName=None),),
        422,
        "field 'distributionGridOperatorName' is mandatory and missing",
    ),
    "missing POD id in update": (
        nothing,
        BSP1,
        "UpdatePod",
        ({"resourceName": "x"},),
        422,
        "field 'meteringPointId' is mandatory and missing",
    ),
    "oversized attachment": (
        registered,
        BSP1,
        "CreateAttachment",
        (attachment({"meteringPointId": POD1}, documentFile=OVERSIZED),),
        422,
        "larger than the 5 MB limit",
    ),
    "oversized declared attachment": (
        registered,
        BSP1,
        "CreateAttachment",
        (
            attachment(
                {"meteringPointId": POD1},
                documentFile=None,
                sha256="ab" * 32,
                size=MAX_ATTACHMENT_BYTES + 1,
            ),
        ),
        422,
        "document of 5242881 bytes exceeds the 5 MB limit",
    ),
    "attachment not PDF or XML": (
        registered,
        BSP1,
        "CreateAttachment",
        (attachment({"meteringPointId": POD1}, mimeType="image/png"),),
        422,
        "must be one of application/pdf, application/xml, text/xml",
    ),
    "attachment content not its type": (
        registered,
        BSP1,
        "CreateAttachment",
        (attachment({"meteringPointId": POD1}, documentFile=base64.b64encode(b"GIF89a").decode()),),
        422,
        "documentFile does not look like application/pdf",
    ),
    "attachment hash mismatch": (
        registered,
        BSP1,
        "CreateAttachment",
        (attachment({"meteringPointId": POD1}, sha256="00" * 32),),
        422,
        "sha256 does not match documentFile",
    ),
    "non-UTF-8 argument": (
        nothing,
        BSP1,
        "RegisterPod",
        (b'{"meteringPointId":"\xff"}',),
        422,
        "RegisterPod argument 'pod' is not UTF-8 (byte 20)",
    ),
    "malformed JSON argument": (
        nothing,
        BSP1,
        "RegisterPod",
        (b'{"meteringPointId": IT002}',),
        422,
        "RegisterPod argument 'pod' is not valid JSON: Expecting value at line 1 column 21",
    ),
    "rejection without reason": (
        prevalidated,
        ARETI,
        "UpdatePodStatus",
        (pod_status(POD1, "Rejected"),),
        422,
        "POD IT002E00112233: moving to Rejected needs a reason",
    ),
    "unknown status": (
        registered,
        BSP1,
        "UpdatePodStatus",
        (pod_status(POD1, "Approved"),),
        422,
        "'Approved' is not one of Registered, Open, UnderReview",
    ),
    "constraints above the POD's flexibility": (
        prevalidated,
        ARETI,
        "SetPodConstraints",
        (POD1, {"maximumFlexUp": 500.0}),
        422,
        "maximumFlexUp 500 kW exceeds the POD's 120 kW",
    ),
    "ending an ended relation": (
        lambda lg: (
            qualified_uvam(lg),
            lg.submit(
                BSP1,
                "EndRelation",
                {
                    "relationId": lg.evaluate(BSP1, "ListRelationsByUvam", "UVAM-ROMA-1", 1, "")[
                        "records"
                    ][0]["relationId"]
                },
            ),
        ),
        BSP1,
        "EndRelation",
        (),
        409,
        "is Ended; only an Active one ends",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_registry_refusal_names_entity_and_rule_and_changes_nothing(case: str) -> None:
    setup, who, function, args, status, text = CASES[case]
    ledger = bootstrapped()
    setup(ledger)
    if case == "ending an ended relation":
        relation_id = ledger.evaluate(BSP1, "ListRelationsByUvam", "UVAM-ROMA-1", 1, "")
        args = ({"relationId": relation_id["records"][0]["relationId"]},)
    before = ledger.snapshot()
    with pytest.raises(ChaincodeError) as info:
        ledger.submit(who, function, *args)
    assert text in info.value.message
    assert info.value.status == status
    assert ledger.snapshot() == before
    assert ledger.refused_writes == {}, "the refusal came after a write"
