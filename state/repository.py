"""Reads and writes of Baton's state, one function per question or change.

Every function takes the caller's `Session`: the flow decides where a
transaction starts and ends (a page, a batch), these functions never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mapping.merge import ContactState, FieldState
from state.models import (
    ContactRow,
    CursorRow,
    DeadLetterRow,
    LeaseRow,
    LinkRow,
    OutboxRow,
    OutboxStatus,
    RunStatus,
    SyncRunRow,
    utcnow,
)

T = TypeVar("T")
_CHUNK = 900  # well under SQLite's bound-parameter limit


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# --- contacts and links ---------------------------------------------------


def contact_by_email(s: Session, email: str) -> ContactRow | None:
    return s.scalars(select(ContactRow).where(ContactRow.email == email)).one_or_none()


class _HoldsState(Protocol):
    """A contact's values and their provenance (a `ContactRow` or a working-set contact)."""

    values: dict[str, Any]
    provenance: dict[str, Any]


def contact_state(row: _HoldsState | ContactRow) -> ContactState:
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


def store_state(row: _HoldsState | ContactRow, state: ContactState) -> None:
    row.values = {name: fs.value for name, fs in state.items()}
    row.provenance = {
        name: {"source": fs.source, "at": fs.changed_at.isoformat() if fs.changed_at else None}
        for name, fs in state.items()
    }


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


def new_idempotency_key() -> str:
    """A key for one planned write: it stays with the write across retries and
    crashes (and goes out as HubSpot's objectWriteTraceId), and is never reused."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class PlannedWrite:
    """Fields to write to one system for one contact; `external_id` None creates."""

    system: str
    contact_id: int
    email: str
    external_id: str | None
    payload: Mapping[str, Any]

    @property
    def creates(self) -> bool:
        return self.external_id is None


@dataclass(frozen=True)
class OutboxEntry:
    """A row of the outbox as a batch works with it (read once, changed by statement)."""

    id: int
    idempotency_key: str
    system: str
    contact_id: int
    email: str
    external_id: str | None
    payload: dict[str, Any]
    status: OutboxStatus


_OUTBOX = cast(Table, OutboxRow.__table__)


def _entry(row: Row[Any]) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        idempotency_key=row.idempotency_key,
        system=row.system,
        contact_id=row.contact_id,
        email=row.email,
        external_id=row.external_id,
        payload=row.payload,
        status=OutboxStatus(row.status),
    )


def _entries(s: Session, query: Select[Any]) -> list[OutboxEntry]:
    return [_entry(row) for row in s.execute(query)]


def replace_pending_writes(
    s: Session, planned: Sequence[PlannedWrite], run_id: int | None
) -> list[str]:
    """Make these the contacts' only pending writes; an empty update plans none
    (a create goes out even with no fields: the record must exist there).
    Returns the idempotency keys of the writes now pending, in `planned`'s order."""
    by_system: dict[str, list[int]] = {}
    for p in planned:
        by_system.setdefault(p.system, []).append(p.contact_id)
    for system, contact_ids in by_system.items():
        for chunk in chunks(sorted(set(contact_ids))):
            s.execute(
                delete(_OUTBOX).where(
                    _OUTBOX.c.system == system,
                    _OUTBOX.c.contact_id.in_(chunk),
                    _OUTBOX.c.status == OutboxStatus.PENDING,
                )
            )
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "idempotency_key": new_idempotency_key(),
            "system": p.system,
            "contact_id": p.contact_id,
            "email": p.email,
            "external_id": p.external_id,
            "payload": dict(p.payload),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "run_id": run_id,
            "created_at": now,
            "sent_at": None,
        }
        for p in planned
        if p.payload or p.creates
    ]
    if rows:
        # A Core executemany: one statement for the page's writes, no ORM objects.
        s.execute(insert(_OUTBOX), rows)
    return [str(row["idempotency_key"]) for row in rows]


def outbox_rows(s: Session, keys: Sequence[str]) -> dict[str, OutboxEntry]:
    found: dict[str, OutboxEntry] = {}
    for chunk in chunks(list(keys)):
        for entry in _entries(s, select(_OUTBOX).where(_OUTBOX.c.idempotency_key.in_(chunk))):
            found[entry.idempotency_key] = entry
    return found


def set_outbox_status(
    s: Session, ids: Sequence[int], status: OutboxStatus, *, sent_at: datetime | None = None
) -> None:
    """Move these writes to `status` (one statement per chunk)."""
    values: dict[str, Any] = {"status": status}
    if sent_at is not None:
        values["sent_at"] = sent_at
    for chunk in chunks(sorted(set(ids))):
        s.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(chunk)).values(**values))


def _pending(system: str, *, creates: bool | None, linked_since: datetime | None) -> Select[Any]:
    query = select(_OUTBOX).where(
        _OUTBOX.c.system == system, _OUTBOX.c.status == OutboxStatus.PENDING
    )
    if creates is not None:
        query = query.where(
            _OUTBOX.c.external_id.is_(None) if creates else _OUTBOX.c.external_id.is_not(None)
        )
    if linked_since is not None:
        query = query.where(
            select(LinkRow.id)
            .where(
                LinkRow.system == system,
                LinkRow.contact_id == _OUTBOX.c.contact_id,
                LinkRow.synced_at >= linked_since,
            )
            .exists()
        )
    return query


def pending_writes(
    s: Session,
    system: str,
    limit: int,
    *,
    creates: bool | None = None,
    linked_since: datetime | None = None,
) -> list[OutboxEntry]:
    """Oldest pending writes, creates first so batches stay homogeneous.

    `creates` keeps creates only (True) or updates only (False); `linked_since`
    keeps writes whose record's link was refreshed at or after that instant.
    """
    query = _pending(system, creates=creates, linked_since=linked_since)
    return _entries(
        s, query.order_by(_OUTBOX.c.external_id.is_not(None), _OUTBOX.c.id).limit(limit)
    )


def count_pending(
    s: Session,
    system: str,
    up_to: int,
    *,
    creates: bool | None = None,
    linked_since: datetime | None = None,
) -> int:
    """How many pending writes `pending_writes` would find, counting no further than `up_to`."""
    query = _pending(system, creates=creates, linked_since=linked_since)
    capped = query.with_only_columns(_OUTBOX.c.id).limit(up_to).subquery()
    return int(s.scalar(select(func.count()).select_from(capped)) or 0)


def mark_in_flight(s: Session, ids: Sequence[int]) -> None:
    """Claimed: in flight from now on, one more attempt (one statement per chunk)."""
    for chunk in chunks(sorted(ids)):
        s.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_(chunk))
            .values(status=OutboxStatus.IN_FLIGHT, attempts=_OUTBOX.c.attempts + 1)
        )


def in_flight_writes(s: Session, system: str) -> list[OutboxEntry]:
    return _entries(
        s,
        select(_OUTBOX)
        .where(_OUTBOX.c.system == system, _OUTBOX.c.status == OutboxStatus.IN_FLIGHT)
        .order_by(_OUTBOX.c.id),
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
) -> None:
    """Keep a letter; it replaces the open letter for the same record and field
    (pull) or contact (push), so only one stays open.

    Letters wait in the session until it flushes or commits; then the letters
    they replace are closed and they are inserted, a few statements for the
    whole page or batch instead of a lookup and an insert per letter.
    """
    letter: dict[str, Any] = {
        "stage": stage,
        "system": system,
        "reason": reason,
        "payload": dict(payload),
        "run_id": run_id,
        "external_id": external_id,
        "contact_id": contact_id,
        "field": field,
        "request_id": request_id,
        "created_at": utcnow(),
        "resolved_at": None,
        "resolution": None,
    }
    s.connection()  # inside the transaction, so a rollback takes the letter with it
    waiting: list[dict[str, Any]] = s.info.setdefault(_WAITING, [])
    waiting.append(letter)


# A letter's slot: ("pull", system, field, external_id) or ("push", system, None, contact_id).
_LetterKey = tuple[str, str, str | None, str | int]
_WAITING = "baton.letters_waiting"
_SUPERSEDED = {
    "push": "superseded by a later refusal",
    "pull": "superseded by a newer copy of the record",
}


def _letter_key(letter: Mapping[str, Any]) -> _LetterKey | None:
    if letter["stage"] == "push" and letter["contact_id"] is not None:
        return ("push", letter["system"], None, letter["contact_id"])
    if letter["stage"] == "pull" and letter["external_id"] is not None:
        return ("pull", letter["system"], letter["field"], letter["external_id"])
    return None


@event.listens_for(Session, "before_flush")
def _before_flush(s: Session, _context: object, _instances: object) -> None:
    _write_waiting_letters(s)


@event.listens_for(Session, "before_commit")
def _before_commit(s: Session) -> None:
    # A commit with nothing else to flush skips the flush: letters still go in.
    _write_waiting_letters(s)


@event.listens_for(Session, "after_soft_rollback")
def _forget_waiting(s: Session, _previous: object) -> None:
    # The new letters were rolled back with the rest of the page.
    s.info.pop(_WAITING, None)


def _write_waiting_letters(s: Session) -> None:
    """Close the open letters the waiting ones replace, then insert those at once."""
    waiting: list[dict[str, Any]] | None = s.info.pop(_WAITING, None)
    if not waiting:
        return
    latest: dict[_LetterKey, dict[str, Any]] = {}
    for letter in waiting:
        key = _letter_key(letter)
        if key is None:
            continue
        earlier = latest.get(key)
        if earlier is not None:  # the same record or contact twice in one page
            earlier["resolved_at"] = letter["created_at"]
            earlier["resolution"] = _SUPERSEDED[key[0]]
        latest[key] = letter
    groups: dict[tuple[str, str, str | None], list[str | int]] = {}
    for stage, system, field, ident in latest:
        groups.setdefault((stage, system, field), []).append(ident)
    for (stage, system, field), idents in groups.items():
        for chunk in chunks(sorted(idents, key=str)):
            if stage == "push":
                slot: ColumnElement[bool] = DeadLetterRow.contact_id.in_(chunk)
            else:
                same_field = (
                    DeadLetterRow.field.is_(None) if field is None else DeadLetterRow.field == field
                )
                slot = and_(same_field, DeadLetterRow.external_id.in_(chunk))
            _close_letters(
                s,
                _SUPERSEDED[stage],
                DeadLetterRow.stage == stage,
                DeadLetterRow.system == system,
                slot,
            )
    # A Core executemany: one statement for every letter of the page.
    s.execute(insert(DeadLetterRow.metadata.tables[DeadLetterRow.__tablename__]), waiting)


def resolve_push_letters(s: Session, system: str, contact_ids: Sequence[int]) -> None:
    """A write to `system` went through for these contacts: their refusals are settled."""
    for chunk in chunks(sorted(set(contact_ids))):
        _close_letters(
            s,
            "sent on a later try",
            DeadLetterRow.stage == "push",
            DeadLetterRow.system == system,
            DeadLetterRow.contact_id.in_(chunk),
        )


def _close_letters(s: Session, resolution: str, *where: ColumnElement[bool]) -> None:
    # The partial indexes on open letters make this a lookup, not a table scan.
    s.execute(
        update(DeadLetterRow)
        .where(DeadLetterRow.resolved_at.is_(None), *where)
        .values(resolved_at=utcnow(), resolution=resolution)
    )


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
    run = SyncRunRow(status=RunStatus.RUNNING, stats={})
    s.add(run)
    s.flush()
    return run


def recent_runs(s: Session, limit: int = 10) -> list[SyncRunRow]:
    return list(s.scalars(select(SyncRunRow).order_by(SyncRunRow.id.desc()).limit(limit)))


# --- the run lease --------------------------------------------------------


class LeaseLost(Exception):
    """This run's lease was taken over: it must stop before writing anything more."""


class LeaseHeld(Exception):
    """Another live run holds the lease."""

    def __init__(self, run_id: int | None, heartbeat_at: datetime) -> None:
        super().__init__(
            f"run {run_id} is still running (last heartbeat {heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        self.run_id = run_id
        self.heartbeat_at = heartbeat_at


def acquire_lease(
    s: Session,
    name: str,
    run_id: int,
    timeout: timedelta,
    holder: str,
    holder_gone: Callable[[str], bool] = lambda _holder: False,
) -> int | None:
    """Take the lease for `run_id`; returns the run it was taken over from, if any.

    The lease is free when nobody holds it, when its heartbeat is older than
    `timeout`, or when `holder_gone` says its holder (a "host:pid" string) is
    known to be dead. Otherwise `LeaseHeld` is raised. Taking it is a
    conditional update, so two processes racing for it cannot both win.
    """
    now = utcnow()
    current = s.get(LeaseRow, name)
    if current is None:
        s.add(LeaseRow(name=name, run_id=run_id, heartbeat_at=now, holder=holder))
        try:
            s.flush()
        except IntegrityError:
            s.rollback()
            current = s.get(LeaseRow, name)
            assert current is not None
            raise LeaseHeld(current.run_id, current.heartbeat_at) from None
        return None
    previous = current.run_id
    free = or_(LeaseRow.run_id.is_(None), LeaseRow.heartbeat_at < now - timeout)
    if current.run_id is not None and current.holder and holder_gone(current.holder):
        free = or_(free, LeaseRow.run_id == current.run_id)
    taken = s.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, free)
        .values(run_id=run_id, heartbeat_at=now, holder=holder)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseHeld(current.run_id, current.heartbeat_at)
    return previous


def renew_lease(s: Session, name: str, run_id: int) -> bool:
    """Refresh the heartbeat; False when `run_id` no longer holds the lease."""
    renewed = s.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.run_id == run_id)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def release_lease(s: Session, name: str, run_id: int) -> None:
    s.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.run_id == run_id)
        .values(run_id=None)
        .execution_options(synchronize_session=False)
    )
