"""Reads and writes of Baton's state, one function per question or change.

Every function takes the caller's `Session`: the flow decides where a
transaction starts and ends (a page, a batch), these functions never commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mapping.merge import ContactState, FieldState
from state.models import (
    ContactRow,
    CursorRow,
    DeadLetterRow,
    LinkRow,
    OutboxRow,
    SyncRunRow,
    utcnow,
)

# --- contacts and links ---------------------------------------------------


def find_link(s: Session, system: str, external_id: str) -> LinkRow | None:
    return s.scalars(
        select(LinkRow).where(LinkRow.system == system, LinkRow.external_id == external_id)
    ).one_or_none()


def link_of(s: Session, system: str, contact_id: int) -> LinkRow | None:
    return s.scalars(
        select(LinkRow).where(LinkRow.system == system, LinkRow.contact_id == contact_id)
    ).one_or_none()


def contact_by_email(s: Session, email: str) -> ContactRow | None:
    return s.scalars(select(ContactRow).where(ContactRow.email == email)).one_or_none()


def create_contact(s: Session, email: str) -> ContactRow:
    row = ContactRow(email=email, values={}, provenance={})
    s.add(row)
    s.flush()
    return row


def contact_state(row: ContactRow) -> ContactState:
    state: ContactState = {}
    for name, value in row.values.items():
        prov = row.provenance.get(name, {})
        at = prov.get("at")
        state[name] = FieldState(
            value=value,
            source=prov.get("source"),
            changed_at=datetime.fromisoformat(at) if at else None,
        )
    return state


def store_state(row: ContactRow, state: ContactState) -> None:
    row.values = {name: fs.value for name, fs in state.items()}
    row.provenance = {
        name: {"source": fs.source, "at": fs.changed_at.isoformat() if fs.changed_at else None}
        for name, fs in state.items()
    }


def save_link(
    s: Session,
    system: str,
    external_id: str,
    contact_id: int,
    shadow: Mapping[str, Any],
    remote_modified_at: datetime | None,
) -> LinkRow:
    """Create or refresh the link and replace its shadow."""
    link = link_of(s, system, contact_id) or find_link(s, system, external_id)
    if link is None:
        link = LinkRow(system=system, external_id=external_id, contact_id=contact_id)
        s.add(link)
    link.external_id = external_id
    link.contact_id = contact_id
    link.shadow = dict(shadow)
    link.remote_modified_at = remote_modified_at
    link.synced_at = utcnow()
    s.flush()
    return link


# --- cursors --------------------------------------------------------------


def cursor(s: Session, stream: str) -> datetime | None:
    row = s.get(CursorRow, stream)
    return row.since if row else None


def advance_cursor(s: Session, stream: str, since: datetime, run_id: int | None) -> None:
    row = s.get(CursorRow, stream)
    if row is None:
        s.add(CursorRow(stream=stream, since=since, run_id=run_id))
    elif since > row.since:
        row.since = since
        row.run_id = run_id


def all_cursors(s: Session) -> list[CursorRow]:
    return list(s.scalars(select(CursorRow).order_by(CursorRow.stream)))


# --- outbox ---------------------------------------------------------------


def idempotency_key(
    system: str, contact_id: int, payload: Mapping[str, Any], shadow: Mapping[str, Any] | None
) -> str:
    # The shadow is part of the key so the same values planned again after the
    # remote changed in between (A -> B -> A) are a new write, not a duplicate.
    blob = json.dumps([system, contact_id, payload, shadow], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def plan_write(
    s: Session,
    *,
    system: str,
    contact_id: int,
    email: str,
    external_id: str | None,
    payload: Mapping[str, Any],
    shadow: Mapping[str, Any] | None,
    run_id: int | None,
) -> OutboxRow | None:
    """Replace the contact's pending write to `system` with this one (or none)."""
    s.execute(
        delete(OutboxRow).where(
            OutboxRow.system == system,
            OutboxRow.contact_id == contact_id,
            OutboxRow.status == "pending",
        )
    )
    if not payload:
        return None
    key = idempotency_key(system, contact_id, payload, shadow)
    existing = s.scalars(select(OutboxRow).where(OutboxRow.idempotency_key == key)).one_or_none()
    if existing is not None:
        return existing  # already planned or in flight: planning twice sends once
    row = OutboxRow(
        idempotency_key=key,
        system=system,
        contact_id=contact_id,
        email=email,
        external_id=external_id,
        payload=dict(payload),
        run_id=run_id,
    )
    s.add(row)
    s.flush()
    return row


def pending_writes(s: Session, system: str, limit: int) -> list[OutboxRow]:
    """Oldest pending writes, creates first so batches stay homogeneous."""
    return list(
        s.scalars(
            select(OutboxRow)
            .where(OutboxRow.system == system, OutboxRow.status == "pending")
            .order_by(OutboxRow.external_id.is_not(None), OutboxRow.id)
            .limit(limit)
        )
    )


def in_flight_writes(s: Session, system: str) -> list[OutboxRow]:
    return list(
        s.scalars(
            select(OutboxRow)
            .where(OutboxRow.system == system, OutboxRow.status == "in_flight")
            .order_by(OutboxRow.id)
        )
    )


def outbox_depth(s: Session) -> dict[str, dict[str, int]]:
    rows = s.execute(
        select(OutboxRow.system, OutboxRow.status, func.count()).group_by(
            OutboxRow.system, OutboxRow.status
        )
    )
    depth: dict[str, dict[str, int]] = {}
    for system, status, count in rows:
        depth.setdefault(system, {})[status] = count
    return depth


# --- dead letters ---------------------------------------------------------


def add_dead_letter(
    s: Session,
    *,
    stage: str,
    system: str,
    reason: str,
    payload: Mapping[str, Any],
    run_id: int | None,
    external_id: str | None = None,
    contact_id: int | None = None,
    field: str | None = None,
    request_id: str | None = None,
) -> DeadLetterRow:
    row = DeadLetterRow(
        stage=stage,
        system=system,
        reason=reason,
        payload=dict(payload),
        run_id=run_id,
        external_id=external_id,
        contact_id=contact_id,
        field=field,
        request_id=request_id,
    )
    s.add(row)
    return row


def open_dead_letters(s: Session, limit: int = 100) -> Sequence[DeadLetterRow]:
    return list(
        s.scalars(
            select(DeadLetterRow)
            .where(DeadLetterRow.resolved_at.is_(None))
            .order_by(DeadLetterRow.id.desc())
            .limit(limit)
        )
    )


def count_open_dead_letters(s: Session) -> int:
    return (
        s.scalar(
            select(func.count())
            .select_from(DeadLetterRow)
            .where(DeadLetterRow.resolved_at.is_(None))
        )
        or 0
    )


# --- runs -----------------------------------------------------------------


def start_run(s: Session) -> SyncRunRow:
    run = SyncRunRow(status="running", stats={})
    s.add(run)
    s.flush()
    return run


def recent_runs(s: Session, limit: int = 10) -> list[SyncRunRow]:
    return list(s.scalars(select(SyncRunRow).order_by(SyncRunRow.id.desc()).limit(limit)))
