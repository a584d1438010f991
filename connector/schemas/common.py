"""Response bodies shared by every route: errors, operations, resources, pages, history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class FieldError(BaseModel):
    field: str | None = Field(description="the field, dotted for nested ones; null for the body")
    rule: str = Field(description="the rule it broke")


class ErrorBody(BaseModel):
    status: int = Field(description="the HTTP status, repeated")
    code: str = Field(description="a stable name: InvalidArgument, Forbidden, WrongState, ...")
    message: str
    fields: list[FieldError] = []
    operationId: str | None = Field(default=None, description="the operation, when one exists")


class ErrorResponse(BaseModel):
    error: ErrorBody


class OperationStatus(StrEnum):
    accepted = "accepted"
    submitted = "submitted"
    committed = "committed"
    failed = "failed"


class OperationOut(BaseModel):
    """An accepted write and where its ledger transaction stands."""

    id: str
    service: str = Field(description="the CBP API service, e.g. 'Register Flex Resource'")
    function: str = Field(description="the chaincode transaction it runs")
    channel: str
    status: OperationStatus
    resourceKind: str
    resourceId: str
    transactionId: str = Field(description="fixed before the first submission")
    attempts: int
    attemptTransactionIds: list[str] = Field(
        default=[],
        description="every attempt's transaction id, in order (a write invalidated "
        "by a concurrent one is tried again under a new id)",
    )
    blockNumber: int | None = None
    validationCode: str | None = None
    result: dict[str, Any] | None = Field(default=None, description="the record as committed")
    error: ErrorBody | None = None
    createdAt: datetime
    updatedAt: datetime
    links: dict[str, str] = {}


class ResourceKind(StrEnum):
    pod = "pod"
    device = "device"
    attachment = "attachment"
    uvam = "uvam"
    relation = "relation"
    connection = "connection"
    participant = "participant"
    marketperiod = "marketperiod"
    offer = "offer"
    activation = "activation"
    series = "series"
    statement = "statement"
    # the P2P market's
    ev = "ev"
    trade = "trade"
    batch = "batch"
    marketparams = "marketparams"


class ResourceOut(BaseModel):
    """The connector's copy of a ledger record, as the ledger last committed it."""

    kind: ResourceKind
    id: str
    channel: str
    status: str | None = None
    name: str | None = None
    ownerEic: str | None = None
    dsoEic: str | None = None
    parentId: str | None = None
    record: dict[str, Any] = Field(description="the ledger record, field names as its chaincode's")
    lastTxId: str | None = None
    updatedAt: datetime


class PodDetail(ResourceOut):
    devices: list[ResourceOut] = []
    attachments: list[ResourceOut] = []
    pendingOperations: list[OperationOut] = []


class UvamDetail(ResourceOut):
    relations: list[ResourceOut] = []
    attachments: list[ResourceOut] = []
    connection: ResourceOut | None = None
    pendingOperations: list[OperationOut] = []


class BatchDetail(ResourceOut):
    """A P2P confirmation batch and its trades, as confirmed."""

    trades: list[ResourceOut] = []


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="items matching the filters, all pages together")
    nextCursor: str | None = Field(default=None, description="pass as ?cursor= for the next page")


class HistoryEntry(BaseModel):
    """One committed version of a record, from the ledger's history."""

    txId: str
    timestamp: str
    isDelete: bool
    actor: dict[str, Any] | None = None
    value: dict[str, Any] | None = None


class Health(BaseModel):
    status: str
    organisation: str
    role: str
    channels: list[str]
    ledger: dict[str, Any] = Field(description="per channel: height, or why it is unreachable")
    sync: dict[str, Any] = Field(description="per channel: last block applied from events")
