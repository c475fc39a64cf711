"""SQLAlchemy tables. SQLite by default; the same code runs on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, also on SQLite (which drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxStatus(StrEnum):
    """A planned write's life: pending -> in_flight -> sent | dead; superseded
    when a newer plan (or a crash check) replaced it before it went out."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DEAD = "dead"
    SUPERSEDED = "superseded"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"  # a system was set aside; the other was synced
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died or a signal ended it
    REPLAY = "replay"  # a `baton replay` run


class RetiredReason(StrEnum):
    """Why Baton will never write to an external id again."""

    MERGED = "merged"
    """The system merged the record into another (the id now resolves to the survivor)."""
    UNLINKED = "unlinked"
    """Baton stopped syncing the record: its contact was collapsed into another, or the
    record on the other side was archived under `identity.on_archive: unlink`."""
    ARCHIVED = "archived"
    """The record was archived (deleted) in its system, or by Baton under `archive`."""


def _stored_as_value(enum: type[StrEnum]) -> Enum:
    # Stored as the value text (not the member name) in a plain string column.
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        datetime: UTCDateTime,
        OutboxStatus: _stored_as_value(OutboxStatus),
        RunStatus: _stored_as_value(RunStatus),
        RetiredReason: _stored_as_value(RetiredReason),
    }


class ContactRow(Base):
    """A canonical contact: current values and, per field, where they came from."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LinkRow(Base):
    """(system, external id) -> contact, with that system's last-synced shadow."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("system", "external_id"),
        UniqueConstraint("system", "contact_id"),
        # A page loads the links of its contacts in every system at once.
        Index("ix_links_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    shadow: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unread: Mapped[list[str]] = mapped_column(default=list)
    """Vendor fields Baton could not read from its last copy: never written over."""
    remote_modified_at: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetiredIdRow(Base):
    """An external id Baton never writes to again, with the contact it now belongs to.

    Pulls skip a retired record, and a write planned for one before it was retired
    is cancelled instead of sent.
    """

    __tablename__ = "retired_ids"
    __table_args__ = (
        UniqueConstraint("system", "external_id"),
        # Planning asks, per contact, whether a system's record of it was retired.
        Index("ix_retired_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[RetiredReason]
    contact_id: Mapped[int | None] = mapped_column(default=None)
    """The contact the record's person is kept as (a merge's survivor), if any."""
    run_id: Mapped[int | None] = mapped_column(default=None)
    retired_at: Mapped[datetime] = mapped_column(default=utcnow)


class CursorRow(Base):
    """How far each stream has been pulled: never later than a run's start."""

    __tablename__ = "cursors"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxRow(Base):
    """A planned write. pending -> in_flight -> sent | dead.

    `in_flight` is committed before the request goes out, so after a crash the
    write is checked against the remote record instead of being sent again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # Claiming takes the oldest pending creates, then updates, straight off this
        # index (no sort of every pending write per batch).
        Index("ix_outbox_claim", "system", "status", text("(external_id IS NOT NULL)"), "id"),
        # Replacing a page's pending writes looks them up by contact.
        Index("ix_outbox_contact", "contact_id", "system", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    system: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    external_id: Mapped[str | None] = mapped_column(String(128), default=None)
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    run_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class DeadLetterRow(Base):
    """A record Baton could not apply or a system refused, kept with its reason."""

    __tablename__ = "dead_letters"
    # Only open letters are looked up (to close or list them), so the indexes hold
    # only those: a new letter costs the same with 15,000 open ones as with none.
    __table_args__ = (
        Index(
            "ix_dead_letters_open_record",
            "system",
            "external_id",
            "field",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index(
            "ix_dead_letters_open_contact",
            "system",
            "contact_id",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index(
            "ix_dead_letters_open",
            "id",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(default=None)
    stage: Mapped[str] = mapped_column(String(16))  # "pull" or "push"
    system: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128), default=None)
    contact_id: Mapped[int | None] = mapped_column(default=None)
    field: Mapped[str | None] = mapped_column(String(128), default=None)
    reason: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)


class SyncRunRow(Base):
    """One sync run: when, how it ended, and its counts per system."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[RunStatus] = mapped_column(default=RunStatus.RUNNING)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class LeaseRow(Base):
    """Who may run: one sync (or replay) at a time per database.

    Held by a run and renewed with every page and batch; a lease whose
    heartbeat is older than the timeout belonged to a process that died.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    holder: Mapped[str | None] = mapped_column(String(300), default=None)
    """"host:pid" of the process holding it, so a dead local holder is noticed at once."""
