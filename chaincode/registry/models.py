"""Request models of the registry, named and spelt as the CBP API spells its fields.

Each model checks its own fields and the rules between them (flex within contracted power,
start before end, EIC ids with scheme A01); rules that need the ledger (the DSO is admitted,
the owner is the caller) live in the entity modules.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Self

from pydantic import Field, StringConstraints, model_validator

from chaincode.runtime.strict import quote

from .codes import CodingScheme, PodStatus, Role, UvamStatus, enum_value
from .fields import (
    DirectionField,
    Eic,
    Ident,
    Input,
    LongText,
    Number,
    PodCode,
    Power,
    Scheme,
    Text,
    Time,
    UnixTime,
    Voltage,
    require_eic_scheme,
)

MspId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
DistributorCode = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]


def _check_period(entity: str, start: str | None, end: str | None) -> None:
    if start is not None and end is not None and not start < end:
        raise ValueError(f"{entity}: startDateTime {start} must be before endDateTime {end}")


def _check_flex(
    entity: str, contracted: float | None, up: float | None, down: float | None
) -> None:
    if contracted is None:
        return
    for name, value in (("maximumFlexUp", up), ("maximumFlexDown", down)):
        if value is not None and value > contracted:
            raise ValueError(
                f"{entity}: {name} {value:g} kW exceeds contractedPower {contracted:g} kW"
            )


class ParticipantIn(Input):
    mspId: MspId
    eic: Eic
    role: Role
    name: Text
    distributorCode: DistributorCode | None = None

    @model_validator(mode="after")
    def _dso_only(self) -> Self:
        if self.distributorCode is not None and self.role is not Role.DSO:
            raise ValueError(f"participant {self.mspId}: only a DSO has a distributorCode")
        return self


class Header(Input):
    """The fields every resource request of the seed's tables 3-4 starts with."""

    registrationPeriod: UnixTime | None = None
    receiverId: Eic
    receiverCodingSchemeType: Scheme
    flexibilityServiceProviderId: Eic
    flexibilityServiceProviderCodingSchemeType: Scheme

    def _check_header(self, entity: str) -> None:
        require_eic_scheme(entity, "receiverCodingSchemeType", self.receiverCodingSchemeType)
        require_eic_scheme(
            entity,
            "flexibilityServiceProviderCodingSchemeType",
            self.flexibilityServiceProviderCodingSchemeType,
        )


def _registered_only(entity: str, status: str | None, kind: Any) -> None:
    """Registration may state the initial status (the seed passes 'registered'), nothing else."""
    if status is not None and enum_value(kind, status) != kind.REGISTERED:
        raise ValueError(f"{entity}: a new registration has status Registered, not {quote(status)}")


class PodIn(Header):
    """Register Flex Resource, Grid Connection Point (seed table 3)."""

    meteringPointId: PodCode
    accountingPointId: PodCode | None = None
    resourceType: Text
    status: str | None = None
    locationId: Text | None = None
    brpConsumptionCodingSchemeType: Scheme | None = None
    brpContractId: Text | None = None
    resourceName: Text
    resourceId: Ident | None = None
    direction: DirectionField
    contractedPower: Power
    contractedPowerSecondaryPOD: Power | None = None
    maximumFlexUp: Power
    maximumFlexDown: Power
    gridVoltageLevel: Voltage
    distributionGridOperatorName: Eic
    startDateTime: Time
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        entity = f"POD {self.meteringPointId}"
        self._check_header(entity)
        _registered_only(entity, self.status, PodStatus)
        _check_flex(entity, self.contractedPower, self.maximumFlexUp, self.maximumFlexDown)
        _check_period(entity, self.startDateTime, self.endDateTime)
        if self.accountingPointId is not None:
            if self.accountingPointId == self.meteringPointId:
                raise ValueError(f"{entity}: accountingPointId must differ from meteringPointId")
            if self.contractedPowerSecondaryPOD is None:
                raise ValueError(
                    f"{entity}: contractedPowerSecondaryPOD is mandatory with accountingPointId"
                )
        return self


class DeviceIn(Header):
    """Register Flex Resource, flex device behind a POD (seed table 3 with parentResourceId)."""

    resourceId: Ident
    parentResourceId: PodCode
    deviceType: Text
    resourceName: Text
    resourceType: Text
    status: str | None = None
    meteringPointId: PodCode | None = None
    locationId: Text | None = None
    direction: DirectionField
    contractedPower: Power
    maximumFlexUp: Power
    maximumFlexDown: Power
    gridVoltageLevel: Voltage | None = None
    distributionGridOperatorName: Eic | None = None
    startDateTime: Time
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        entity = f"flex device {self.resourceId}"
        self._check_header(entity)
        _registered_only(entity, self.status, PodStatus)
        _check_flex(entity, self.contractedPower, self.maximumFlexUp, self.maximumFlexDown)
        _check_period(entity, self.startDateTime, self.endDateTime)
        if self.meteringPointId is not None and self.meteringPointId != self.parentResourceId:
            raise ValueError(
                f"{entity}: meteringPointId {self.meteringPointId} must be its parent POD "
                f"{self.parentResourceId}"
            )
        return self


class DsoConstraints(Input):
    """Static limits the DSO sets on a POD while validating it."""

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
            raise ValueError("DSO constraints must set at least one limit")
        return self


class PodStatusIn(Input):
    """Update Resource Status (seed table 7), with the TSO's or DSO's reason and constraints."""

    flexResourceId: PodCode
    status: str
    registrationPeriod: UnixTime | None = None
    flexibilityServiceProviderId: Eic | None = None
    receiverId: Eic | None = None
    reason: LongText | None = None
    constraints: DsoConstraints | None = None


class AttachmentIn(Input):
    """Create Attachment for a POD (table 5) or a UVAM (table 11); the bytes stay off-chain.

    The document is given either as ``documentFile`` (base64; the chaincode hashes it and keeps
    only the hash and size) or as its ``sha256`` and ``size`` computed by the connector.
    """

    attachmentId: Ident | None = None
    meteringPointId: PodCode | None = None
    resourceGroupId: Ident | None = None
    senderId: Eic
    senderCodingSchemeType: Scheme
    receiverId: Eic
    receiverCodingSchemeType: Scheme
    externalDocumentId: Text
    documentType: Text
    mimeType: Text
    documentFile: str | None = None
    sha256: str | None = None
    size: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        entity = "attachment " + (self.attachmentId or self.externalDocumentId)
        require_eic_scheme(entity, "senderCodingSchemeType", self.senderCodingSchemeType)
        require_eic_scheme(entity, "receiverCodingSchemeType", self.receiverCodingSchemeType)
        if (self.meteringPointId is None) == (self.resourceGroupId is None):
            raise ValueError(
                f"{entity}: name exactly one of meteringPointId (a POD) or resourceGroupId (a UVAM)"
            )
        if self.documentFile is None and (self.sha256 is None or self.size is None):
            raise ValueError(f"{entity}: give documentFile, or both sha256 and size")
        return self


class AttachmentUpdateIn(Input):
    """Update Attachment (tables 6, 12): a new version of the document."""

    attachmentId: Ident
    receiverId: Eic | None = None
    externalDocumentId: Text | None = None
    documentType: Text | None = None
    mimeType: Text | None = None
    documentFile: str | None = None
    sha256: str | None = None
    size: int | None = Field(default=None, ge=0)


class UvamIn(Input):
    """Register Resource Group (seed table 8)."""

    resourceGroupId: Ident | None = None
    flexibilityServiceProviderId: Eic
    flexibilityServiceProviderCodingSchemeType: Scheme
    technicalFlexibilityServiceProviderId: Eic
    technicalFlexibilityServiceProviderCodingSchemeType: Scheme | None = None
    receiverId: Eic
    receiverCodingSchemeType: Scheme
    type: Text
    name: Text
    status: str | None = None
    perimeter: Text
    maximumQualifiedPower: Power
    minimumQualifiedPower: Power
    marketType: Text
    period: Text
    startDateTime: Time
    endDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        entity = "UVAM " + (self.resourceGroupId or self.name)
        for field in (
            "flexibilityServiceProviderCodingSchemeType",
            "technicalFlexibilityServiceProviderCodingSchemeType",
            "receiverCodingSchemeType",
        ):
            scheme: CodingScheme | None = getattr(self, field)
            require_eic_scheme(entity, field, scheme)
        _registered_only(entity, self.status, UvamStatus)
        _check_period(entity, self.startDateTime, self.endDateTime)
        return self


class UvamStatusIn(Input):
    """Update Resource Group Status (seed table 15)."""

    resourceGroupId: Ident
    status: str
    flexibilityServiceProviderId: Eic | None = None
    reason: LongText | None = None


class RelationIn(Input):
    """Register Resource in Resource Group (seed table 10): a POD, or a flex device behind one."""

    resourceGroupId: Ident
    resource: Ident
    flexibilityServiceProviderId: Eic
    flexibilityServiceProviderCodingSchemeType: Scheme
    receiverId: Eic
    receiverCodingSchemeType: Scheme
    startDateTime: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        entity = f"relation of {self.resource} to UVAM {self.resourceGroupId}"
        require_eic_scheme(
            entity,
            "flexibilityServiceProviderCodingSchemeType",
            self.flexibilityServiceProviderCodingSchemeType,
        )
        require_eic_scheme(entity, "receiverCodingSchemeType", self.receiverCodingSchemeType)
        return self


class EndRelationIn(Input):
    """End Relation (seed table 16)."""

    relationId: Ident
    receiverId: Eic | None = None
    endDateTime: Time | None = None


class ConnectionIn(Input):
    """Register Connection of a UVAM (seed table 13)."""

    resourceGroupId: Ident
    flexibilityServiceProviderId: Eic | None = None
    receiverId: Eic
    receiverCodingSchemeType: Scheme
    externalDocumentId: Text
    type: Text
    manufacturer: Text
    ipAddress: Text
    fullScaleMin: Number
    fullScaleMax: Number
    documentFile: str | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        entity = f"connection of UVAM {self.resourceGroupId}"
        require_eic_scheme(entity, "receiverCodingSchemeType", self.receiverCodingSchemeType)
        if not self.fullScaleMin < self.fullScaleMax:
            raise ValueError(
                f"{entity}: fullScaleMin {self.fullScaleMin:g} must be below fullScaleMax "
                f"{self.fullScaleMax:g}"
            )
        try:
            ipaddress.ip_address(self.ipAddress)
        except ValueError:
            raise ValueError(
                f"{entity}: ipAddress {quote(self.ipAddress)} is not an IP address"
            ) from None
        return self


def record_of(model: Input, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The model as a ledger record: API field names, enums as text, absent fields left out."""
    data = model.model_dump(mode="json", exclude_none=True)
    for name in drop:
        data.pop(name, None)
    return data
