"""Request bodies of the 14 CBP API services, with the field names of the seed's tables 3-16.

Header fields (receiver, flexibility service provider and their coding schemes, registration
period) may be left out: the connector fills them with the TSO's and its own organisation's
codes. Every rule that needs no ledger is checked here; the registry checks them all again.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from connector.schemas.fields import (
    Body,
    CodingScheme,
    Direction,
    Eic,
    Ident,
    LongText,
    Number,
    PodCode,
    Power,
    Text,
    Time,
    UnixTime,
    VoltageLevel,
)


def _flex_within(
    entity: str, contracted: float | None, up: float | None, down: float | None
) -> None:
    if contracted is None:
        return
    for name, value in (("maximumFlexUp", up), ("maximumFlexDown", down)):
        if value is not None and value > contracted:
            raise ValueError(f"{name} {value:g} kW exceeds contractedPower {contracted:g} kW")


def _period(start: str | None, end: str | None) -> None:
    if start is not None and end is not None and not start < end:
        raise ValueError(f"startDateTime {start} must be before endDateTime {end}")


class Header(Body):
    registrationPeriod: UnixTime | None = None
    receiverId: Eic | None = Field(default=None, description="the TSO's EIC (default: the TSO)")
    receiverCodingSchemeType: CodingScheme = CodingScheme.EIC
    flexibilityServiceProviderId: Eic | None = Field(
        default=None, description="the BSP's EIC (default: this connector's organisation)"
    )
    flexibilityServiceProviderCodingSchemeType: CodingScheme = CodingScheme.EIC


class PodCreate(Header):
    """Register Flex Resource: a Grid Connection Point (POD), seed table 3."""

    meteringPointId: PodCode
    accountingPointId: PodCode | None = Field(default=None, description="secondary POD")
    resourceType: Text = "GridConnectionPoint"
    locationId: Text | None = None
    brpConsumptionCodingSchemeType: CodingScheme | None = None
    brpContractId: Text | None = None
    resourceName: Text
    resourceId: Ident | None = None
    direction: Direction
    contractedPower: Power
    contractedPowerSecondaryPOD: Power | None = None
    maximumFlexUp: Power
    maximumFlexDown: Power
    gridVoltageLevel: VoltageLevel
    distributionGridOperatorName: Eic = Field(description="the DSO's EIC")
    startDateTime: Time
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _flex_within("POD", self.contractedPower, self.maximumFlexUp, self.maximumFlexDown)
        _period(self.startDateTime, self.endDateTime)
        if self.accountingPointId is not None:
            if self.accountingPointId == self.meteringPointId:
                raise ValueError("accountingPointId must differ from meteringPointId")
            if self.contractedPowerSecondaryPOD is None:
                raise ValueError("contractedPowerSecondaryPOD is mandatory with accountingPointId")
        return self


class PodUpdate(Body):
    """Update Resource Information (seed table 4): the fields to change, while the POD is Open."""

    registrationPeriod: UnixTime | None = None
    accountingPointId: PodCode | None = None
    resourceType: Text | None = None
    locationId: Text | None = None
    brpConsumptionCodingSchemeType: CodingScheme | None = None
    brpContractId: Text | None = None
    resourceName: Text | None = None
    direction: Direction | None = None
    contractedPower: Power | None = None
    contractedPowerSecondaryPOD: Power | None = None
    maximumFlexUp: Power | None = None
    maximumFlexDown: Power | None = None
    gridVoltageLevel: VoltageLevel | None = None
    startDateTime: Time | None = None
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        _flex_within("POD", self.contractedPower, self.maximumFlexUp, self.maximumFlexDown)
        _period(self.startDateTime, self.endDateTime)
        return self


class DeviceCreate(Header):
    """Register Flex Resource: a flex device behind a POD (an EV charger, say)."""

    resourceId: Ident = Field(description="the device's code, unique in the registry")
    deviceType: Text = Field(examples=["EVSE"])
    resourceName: Text
    resourceType: Text = "FlexDevice"
    locationId: Text | None = None
    direction: Direction
    contractedPower: Power
    maximumFlexUp: Power
    maximumFlexDown: Power
    gridVoltageLevel: VoltageLevel | None = None
    startDateTime: Time
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _flex_within("device", self.contractedPower, self.maximumFlexUp, self.maximumFlexDown)
        _period(self.startDateTime, self.endDateTime)
        return self


class DeviceUpdate(Body):
    deviceType: Text | None = None
    resourceName: Text | None = None
    resourceType: Text | None = None
    locationId: Text | None = None
    direction: Direction | None = None
    contractedPower: Power | None = None
    maximumFlexUp: Power | None = None
    maximumFlexDown: Power | None = None
    gridVoltageLevel: VoltageLevel | None = None
    startDateTime: Time | None = None
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        _flex_within("device", self.contractedPower, self.maximumFlexUp, self.maximumFlexDown)
        return self


class AttachmentCreate(Body):
    """Create Attachment (seed tables 5 and 11): the document as base64, PDF or XML, <= 5 MB."""

    externalDocumentId: Text = Field(examples=["single-line-diagram.pdf"])
    documentType: Text = Field(examples=["SingleLineDiagram"])
    documentFile: str = Field(description="the document, base64 (at most 5 MB decoded)")
    mimeType: Text | None = Field(
        default=None, description="application/pdf or application/xml; checked against the bytes"
    )
    senderId: Eic | None = None
    senderCodingSchemeType: CodingScheme = CodingScheme.EIC
    receiverId: Eic | None = None
    receiverCodingSchemeType: CodingScheme = CodingScheme.EIC


class AttachmentUpdate(Body):
    """Update Attachment (seed tables 6 and 12): a new version of the document or its labels."""

    externalDocumentId: Text | None = None
    documentType: Text | None = None
    documentFile: str | None = Field(default=None, description="a new version, base64")
    mimeType: Text | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        return self


class PodStatus(StrEnum):
    Registered = "Registered"
    Open = "Open"
    UnderReview = "UnderReview"
    PreValidated = "PreValidated"
    Validated = "Validated"
    Rejected = "Rejected"


class UvamStatus(StrEnum):
    Registered = "Registered"
    Open = "Open"
    UnderReview = "UnderReview"
    Qualified = "Qualified"
    Rejected = "Rejected"


class DsoConstraints(Body):
    """Static limits the DSO sets on a POD while validating it (kW)."""

    maximumFlexUp: Power | None = None
    maximumFlexDown: Power | None = None
    maximumImportPower: Power | None = None
    maximumExportPower: Power | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> Self:
        limits = (
            self.maximumFlexUp,
            self.maximumFlexDown,
            self.maximumImportPower,
            self.maximumExportPower,
        )
        if all(v is None for v in limits):
            raise ValueError("constraints must set at least one limit")
        return self


class PodStatusChange(Body):
    """Update Resource Status (seed table 7): the BSP sends for review (UnderReview); the TSO
    pre-validates or rejects; the POD's DSO validates or rejects, with constraints."""

    status: PodStatus
    reason: LongText | None = Field(default=None, description="mandatory when rejecting")
    constraints: DsoConstraints | None = None

    @model_validator(mode="after")
    def _reason(self) -> Self:
        if self.status is PodStatus.Rejected and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class UvamCreate(Body):
    """Register Resource Group: a UVAM (seed table 8)."""

    resourceGroupId: Ident | None = Field(
        default=None, description="default: derived by the ledger"
    )
    flexibilityServiceProviderId: Eic | None = None
    flexibilityServiceProviderCodingSchemeType: CodingScheme = CodingScheme.EIC
    technicalFlexibilityServiceProviderId: Eic
    technicalFlexibilityServiceProviderCodingSchemeType: CodingScheme | None = None
    receiverId: Eic | None = None
    receiverCodingSchemeType: CodingScheme = CodingScheme.EIC
    type: Text = "UVAM"
    name: Text
    perimeter: Text
    maximumQualifiedPower: Power
    minimumQualifiedPower: Power
    marketType: Text = Field(examples=["MSD"])
    period: Text = Field(examples=["2026"])
    startDateTime: Time
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _period(self.startDateTime, self.endDateTime)
        if self.minimumQualifiedPower > self.maximumQualifiedPower:
            raise ValueError(
                f"minimumQualifiedPower {self.minimumQualifiedPower:g} kW exceeds "
                f"maximumQualifiedPower {self.maximumQualifiedPower:g} kW"
            )
        return self


class UvamUpdate(Body):
    """Update Resource Group (seed table 9), while the UVAM is Open."""

    technicalFlexibilityServiceProviderId: Eic | None = None
    type: Text | None = None
    name: Text | None = None
    perimeter: Text | None = None
    maximumQualifiedPower: Power | None = None
    minimumQualifiedPower: Power | None = None
    marketType: Text | None = None
    period: Text | None = None
    startDateTime: Time | None = None
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        return self


class UvamStatusChange(Body):
    """Update Resource Group Status (seed table 15): the BSP sends for qualification
    (UnderReview); the TSO qualifies or rejects."""

    status: UvamStatus
    reason: LongText | None = None

    @model_validator(mode="after")
    def _reason(self) -> Self:
        if self.status is UvamStatus.Rejected and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class RelationCreate(Body):
    """Register Resource in Resource Group (seed table 10): a validated POD, or a device of one."""

    resource: Ident = Field(description="a POD code, or a flex device's resourceId")
    startDateTime: Time | None = None


class RelationEnd(Body):
    """End Relation (seed table 16)."""

    endDateTime: Time | None = None


class ConnectionCreate(Body):
    """Register Connection of a UVAM (seed table 13)."""

    receiverId: Eic | None = None
    receiverCodingSchemeType: CodingScheme = CodingScheme.EIC
    externalDocumentId: Text
    type: Text = Field(examples=["IEC-104"])
    manufacturer: Text
    ipAddress: Text = Field(examples=["10.20.30.40"])
    fullScaleMin: Number
    fullScaleMax: Number

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.fullScaleMin < self.fullScaleMax:
            raise ValueError(
                f"fullScaleMin {self.fullScaleMin:g} must be below fullScaleMax "
                f"{self.fullScaleMax:g}"
            )
        try:
            ipaddress.ip_address(self.ipAddress)
        except ValueError:
            raise ValueError(f"ipAddress {self.ipAddress!r} is not an IP address") from None
        return self


class ConnectionUpdate(Body):
    """Update Connection (seed table 14)."""

    externalDocumentId: Text | None = None
    type: Text | None = None
    manufacturer: Text | None = None
    ipAddress: Text | None = None
    fullScaleMin: Number | None = None
    fullScaleMax: Number | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        return self


class ParticipantRole(StrEnum):
    TSO = "TSO"
    DSO = "DSO"
    BSP = "BSP"


class ParticipantCreate(Body):
    """A participant the BNA admits on the BSP channels."""

    mspId: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    eic: Eic
    role: ParticipantRole
    name: Text
    distributorCode: str | None = Field(default=None, pattern=r"^\d{3}$")
