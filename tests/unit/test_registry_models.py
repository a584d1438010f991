"""Field checks of the registry's request models, as a client sees the refusals."""

from __future__ import annotations

from typing import Any

import pytest
from registry_fakes import attachment, connection, device, pod, uvam

from chaincode.registry.errors import InvalidArgument
from chaincode.registry.fields import build
from chaincode.registry.models import (
    AttachmentIn,
    ConnectionIn,
    DeviceIn,
    PodIn,
    UvamIn,
)
from chaincode.runtime.arguments import load_json


def test_registry_models_pod_is_normalised() -> None:
    model = build(PodIn, pod(direction="CONSUMPTION", gridVoltageLevel="mv"), "POD")
    assert model.direction.value == "consumption"
    assert model.gridVoltageLevel.value == "MV"
    assert model.startDateTime == "2026-03-01T00:00:00Z"


def test_registry_models_times_accept_unix_and_offsets() -> None:
    model = build(
        PodIn, pod(startDateTime=1772323200, endDateTime="2026-03-01T02:00:00+01:00"), "P"
    )
    assert model.startDateTime == "2026-03-01T00:00:00Z"
    assert model.endDateTime == "2026-03-01T01:00:00Z"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        (
            {"receiverId": "10X1001A1001A346"},
            "field 'receiverId': EIC code '10X1001A1001A346' has a wrong check character",
        ),
        ({"distributionGridOperatorName": "ARETI"}, "must have 16 characters"),
        ({"receiverCodingSchemeType": "A99"}, "'A99' is not one of A01"),
        (
            {"receiverCodingSchemeType": "A10"},
            "receiverCodingSchemeType is A10 but its id is an EIC code",
        ),
        ({"meteringPointId": "IT2E00112233"}, "must be IT \\+ 3-digit distributor"),
        ({"contractedPower": -1}, "greater than or equal to 0"),
        ({"maximumFlexUp": 250.0}, "maximumFlexUp 250 kW exceeds contractedPower 200 kW"),
        ({"maximumFlexDown": 201.0}, "maximumFlexDown 201 kW exceeds contractedPower 200 kW"),
        (
            {"endDateTime": "2026-02-01T00:00:00Z"},
            "startDateTime 2026-03-01T00:00:00Z must be before endDateTime",
        ),
        ({"direction": "sideways"}, "'sideways' is not one of consumption, generation, mixed"),
        ({"gridVoltageLevel": "XXL"}, "'XXL' is not one of LV, MV, HV, EHV"),
        ({"resourceName": None}, "field 'resourceName' is mandatory and missing"),
        ({"colour": "blue"}, "field 'colour' is not a known field"),
        ({"status": "Validated"}, "a new registration has status Registered"),
        ({"startDateTime": "yesterday"}, "is not ISO 8601"),
        ({"startDateTime": "2026-03-01T00:00:00"}, "must carry a UTC offset"),
        ({"accountingPointId": "IT002E00999999"}, "contractedPowerSecondaryPOD is mandatory"),
        ({"contractedPower": float("inf")}, "finite number"),
    ],
)
def test_registry_models_pod_refusals_name_entity_field_and_rule(
    changes: dict[str, Any], rule: str
) -> None:
    with pytest.raises(InvalidArgument, match=rule) as info:
        build(PodIn, pod(**changes), "POD IT002E00112233")
    assert info.value.message.startswith("POD IT002E00112233: ")


def test_registry_models_device_must_name_its_pod() -> None:
    with pytest.raises(InvalidArgument, match="meteringPointId IT002E00999999 must be its parent"):
        build(DeviceIn, device("EVSE-1", meteringPointId="IT002E00999999"), "flex device EVSE-1")
    with pytest.raises(InvalidArgument, match="'parentResourceId' is mandatory"):
        build(DeviceIn, device("EVSE-1", parentResourceId=None), "flex device EVSE-1")


def test_registry_models_attachment_names_one_target_and_a_document() -> None:
    both = attachment({"meteringPointId": "IT002E00112233", "resourceGroupId": "U1"})
    with pytest.raises(InvalidArgument, match="exactly one of meteringPointId"):
        build(AttachmentIn, both, "attachment")
    bare = attachment({"meteringPointId": "IT002E00112233"}, documentFile=None)
    with pytest.raises(InvalidArgument, match="give documentFile, or both sha256 and size"):
        build(AttachmentIn, bare, "attachment")


def test_registry_models_uvam_and_connection_rules() -> None:
    with pytest.raises(InvalidArgument, match="'marketType' is mandatory"):
        build(UvamIn, uvam(marketType=None), "UVAM")
    with pytest.raises(InvalidArgument, match="fullScaleMin 10 must be below fullScaleMax 5"):
        build(ConnectionIn, connection("U1", fullScaleMin=10.0, fullScaleMax=5.0), "c")
    with pytest.raises(InvalidArgument, match="ipAddress '10.0.0.300' is not an IP address"):
        build(ConnectionIn, connection("U1", ipAddress="10.0.0.300"), "c")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b"\xff\xfe{}", "is not UTF-8 \\(byte 0\\)"),
        (b'{"meteringPointId": ', "is not valid JSON: Expecting value at line 1 column 21"),
        (b"[1, 2]", "must be a JSON object, not list"),
    ],
)
def test_registry_models_bad_arguments_are_named(raw: bytes, rule: str) -> None:
    with pytest.raises(InvalidArgument, match=rule) as info:
        load_json(raw, "RegisterPod", "pod")
    assert "RegisterPod argument 'pod'" in info.value.message
