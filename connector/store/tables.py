"""The connector's tables: users, operations, the ledger mirror, documents, measurement series,
events, loads.

The schema changes only through Alembic migrations (`migrations/versions/`); a test checks
that the migrations and these declarations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC time: SQLite hands back naive ones, and every time the
    connector stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person who logs in; bound to one Fabric identity of the connector's organisation."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(128))
    access: Mapped[str] = mapped_column(String(16))  # viewer | operator | admin
    fabric_user: Mapped[str] = mapped_column(String(64))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Operation(Base):
    """One accepted write and the ledger transaction behind it.

    `tx_id` and `proposal` are fixed before the first submission, so that after a crash the
    connector can ask the ledger whether that very transaction committed before it tries again.
    """

    __tablename__ = "operations"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(32), unique=True)
    service: Mapped[str] = mapped_column(
        String(64)
    )  # the API service, e.g. "Register Flex Resource"
    function: Mapped[str] = mapped_column(String(64))  # the chaincode transaction
    channel: Mapped[str] = mapped_column(String(64))
    args: Mapped[list[Any]] = mapped_column(JSON)
    lane: Mapped[str] = mapped_column(String(160), index=True)
    resource_kind: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(160), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    tx_id: Mapped[str] = mapped_column(String(64), index=True)
    tx_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # every attempt's, in order
    proposal: Mapped[bytes] = mapped_column(LargeBinary)
    fabric_user: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    validation_code: Mapped[str | None] = mapped_column(String(48), nullable=True)
    error_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(48), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    load_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    retry_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the proposal's transient fields (an offer's private price), for a new attempt's proposal
    transient: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        UniqueConstraint("username", "idempotency_key", name="uq_operation_key"),
        Index("ix_operations_load_status", "load_id", "status"),  # a mass load's progress
    )


class Resource(Base):
    """The connector's copy of one registry record, kept in step with the ledger."""

    __tablename__ = "resources"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    id: Mapped[str] = mapped_column(String(160))
    owner_eic: Mapped[str | None] = mapped_column(String(16), nullable=True)
    dso_eic: Mapped[str | None] = mapped_column(String(16), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_tx_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the block of the version held: a copy from an older block never replaces it
    block_number: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (
        UniqueConstraint("channel", "kind", "id", name="uq_resource"),
        Index("ix_resource_kind_id", "kind", "id"),
        # lists are newest first under equality filters: each index ends with seq, so a page
        # is read in order and stops at its limit instead of sorting every match
        Index("ix_resource_kind_seq", "kind", "seq"),
        Index("ix_resource_kind_status", "kind", "status", "seq"),
        Index("ix_resource_kind_owner", "kind", "owner_eic", "seq"),
        Index("ix_resource_kind_dso", "kind", "dso_eic", "seq"),
        # a BSP's or DSO's list by status: its count and its page from the index alone
        Index("ix_resource_kind_owner_status", "kind", "owner_eic", "status", "seq"),
        Index("ix_resource_kind_dso_status", "kind", "dso_eic", "status", "seq"),
        Index("ix_resource_kind_parent", "kind", "parent_id"),
    )


class Document(Base):
    """An attachment's bytes, kept off the ledger; the ledger keeps the SHA-256."""

    __tablename__ = "documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SeriesFile(Base):
    """A measurement series in its canonical form, kept off the ledger; the ledger anchors its
    SHA-256, size and energy per step."""

    __tablename__ = "series_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    resource: Mapped[str] = mapped_column(String(160))
    resolution: Mapped[str] = mapped_column(String(16))
    start: Mapped[str] = mapped_column(String(20))
    end: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Checkpoint(Base):
    """Where the event listener of a channel got to: resume just after this transaction."""

    __tablename__ = "checkpoints"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class AppliedEvent(Base):
    """Each chaincode event applied to the mirror, once: the proof that none is applied twice."""

    __tablename__ = "applied_events"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    event_name: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Webhook(Base):
    """Where the organisation wants completions posted, and the key that signs them."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Load(Base):
    """A mass-loading file: its rows become operations; the report is per row."""

    __tablename__ = "loads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(256))
    username: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_invalid: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class LoadRow(Base):
    __tablename__ = "load_rows"

    load_id: Mapped[str] = mapped_column(
        ForeignKey("loads.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # invalid | accepted
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    operation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
