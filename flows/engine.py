"""The steps of one sync run as plain async functions (no Prefect here).

pull page -> normalize -> identify -> merge -> plan writes into the outbox, all
in one transaction per page; then drain the outbox in the largest batches each
API takes; cursors advance only after a stream's pages are committed and never
past the run's start. `flows.sync` wraps these steps in Prefect tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.contract import (
    ContactConnector,
    Page,
    RawRecord,
    RecordFailure,
    WriteOp,
    WriteOutcome,
)
from flows.report import RunReport
from mapping.config import MappingConfig
from mapping.errors import FieldRejected
from mapping.merge import merge_incoming
from mapping.plan import plan_fields, write_applied
from mapping.schema import CANONICAL_FIELDS, IDENTITY_FIELD
from mapping.translate import same_vendor_value, to_canonical, translate_record
from state import repository as repo
from state.database import Database
from state.models import OutboxRow, SyncRunRow, utcnow
from state.working_set import WorkingSet

log = logging.getLogger("baton.sync")

# Mailchimp reports an existing member this way when a create meets one.
_ALREADY_EXISTS = frozenset({"ERROR_CONTACT_EXISTS"})


@dataclass
class SyncContext:
    """Everything one run works with."""

    db: Database
    config: MappingConfig
    connectors: Mapping[str, ContactConnector]
    report: RunReport
    run_id: int
    started_at: datetime
    overlap: timedelta = timedelta(seconds=120)

    @property
    def systems(self) -> list[str]:
        return list(self.connectors)


# --- run bookkeeping --------------------------------------------------------


LEASE = "sync"


def open_run(db: Database, lease_timeout: timedelta) -> tuple[int, datetime]:
    """Record a new run and take the lease; raises `LeaseHeld` if a live run has it."""
    with db.session() as s:
        run = repo.start_run(s)
        try:
            previous = repo.acquire_lease(s, LEASE, run.id, lease_timeout)
        except repo.LeaseHeld:
            s.rollback()
            raise
        # Runs still marked running do not hold the lease: their process died.
        for stale in s.scalars(
            select(SyncRunRow).where(SyncRunRow.status == "running", SyncRunRow.id != run.id)
        ):
            stale.status = "interrupted"
            if stale.id == previous:
                stale.error = "its process stopped renewing the lease; taken over"
        s.commit()
        # Whole seconds: Mailchimp's last_changed has no finer precision.
        return run.id, run.started_at.replace(microsecond=0)


def close_run(ctx: SyncContext, status: str, error: str | None = None) -> None:
    for system, connector in ctx.connectors.items():
        ctx.report.of(system).api_calls = connector.stats.total
    with ctx.db.session() as s:
        run = s.get(SyncRunRow, ctx.run_id)
        if run is not None:
            run.status = status
            run.finished_at = utcnow()
            run.stats = ctx.report.as_dict()
            run.error = error
        repo.release_lease(s, LEASE, ctx.run_id)
        s.commit()


def stream_since(ctx: SyncContext, system: str) -> datetime | None:
    with ctx.db.session() as s:
        since = repo.cursor(s, f"{system}.contacts")
    return since - ctx.overlap if since is not None else None


def finish_stream(ctx: SyncContext, system: str) -> None:
    with ctx.db.session() as s:
        repo.advance_cursor(s, f"{system}.contacts", ctx.started_at, ctx.run_id)
        s.commit()


# --- pull -------------------------------------------------------------------


async def pull_page(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> str | None:
    """Fetch one page and apply it in one transaction; returns the next token."""
    page: Page = await ctx.connectors[system].fetch_page(since, token)
    with ctx.db.session() as s:
        apply_records(ctx, s, system, page.records)
        repo.renew_lease(s, LEASE, ctx.run_id)
        s.commit()
    return page.next_token


def apply_records(
    ctx: SyncContext, s: Session, system: str, records: Iterable[RawRecord]
) -> set[int]:
    """Normalize, identify, merge and plan writes for records of one system."""
    counts = ctx.report.of(system)
    records = list(records)
    identified = [(record, _identify(ctx, s, system, record)) for record in records]
    work = WorkingSet(s)
    work.load_records(
        system,
        [r.external_id for r in records],
        [email for _, email in identified if email is not None],
    )
    newcomers = {
        email: None
        for record, email in identified
        if email is not None
        and work.link(system, record.external_id) is None
        and work.contact_by_email(email) is None
    }
    work.create_contacts(newcomers)
    touched: set[int] = set()
    for record, email in identified:
        counts.pulled += 1
        if email is None:
            continue
        contact = _apply_record(ctx, work, system, record, email)
        if contact is not None:
            touched.add(contact)
    plan_contacts(ctx, work, touched)
    return touched


def _identify(ctx: SyncContext, s: Session, system: str, record: RawRecord) -> str | None:
    """The record's normalized email, or None after dead-lettering it."""
    identity = ctx.config.identity_binding(system)
    try:
        email = to_canonical(
            CANONICAL_FIELDS[IDENTITY_FIELD],
            identity,
            record.fields.get(identity.field, record.email),
        )
    except FieldRejected as exc:
        _dead_letter_pull(ctx, s, system, record, str(exc), IDENTITY_FIELD)
        return None
    if email is None:
        reason = (
            f"field {IDENTITY_FIELD!r}: {identity.field} is empty; contacts are matched by email"
        )
        _dead_letter_pull(ctx, s, system, record, reason, IDENTITY_FIELD)
    return email


def _apply_record(
    ctx: SyncContext, work: WorkingSet, system: str, record: RawRecord, email: str
) -> int | None:
    s = work.session
    counts = ctx.report.of(system)
    link = work.link(system, record.external_id)
    contact = work.contact(link.contact_id) if link is not None else None
    shadow: Mapping[str, Any] | None = link.shadow if link is not None else None
    if link is None:
        contact = work.contact_by_email(email)
        other = work.link_of(system, contact.id) if contact is not None else None
        if other is not None:
            reason = f"duplicate: {email} is already linked to {system} record {other.external_id}"
            _dead_letter_pull(ctx, s, system, record, reason, IDENTITY_FIELD)
            return None
    if contact is None:
        contact = work.create_contact(email)
    elif contact.email != email and _changed_here(ctx, system, record, shadow):
        if work.contact_by_email(email) is not None or _email_taken(s, email):
            reason = f"email change to {email} collides with another contact"
            _dead_letter_pull(ctx, s, system, record, reason, IDENTITY_FIELD)
            return None
        work.change_email(contact, email)

    translation = translate_record(ctx.config, system, record.fields)
    for rejected in translation.rejected:
        _dead_letter_pull(
            ctx, s, system, record, str(rejected), rejected.field, contact_id=contact.id
        )
    outcome = merge_incoming(
        ctx.config,
        system,
        translation.values,
        record.fields,
        shadow,
        repo.contact_state(contact),
        record.modified_at,
    )
    if outcome.changed:
        repo.store_state(contact, outcome.state)
        counts.changed += 1
    else:
        counts.unchanged += 1
    counts.conflicts += len(outcome.conflicts)
    for conflict in outcome.conflicts:
        log.info(
            "conflict on %s of contact %s: kept %s value, dropped %s value",
            conflict.field,
            contact.id,
            conflict.kept_from,
            conflict.dropped_from,
        )
    work.save_link(
        system,
        record.external_id,
        contact.id,
        _shadow_of(
            ctx,
            system,
            record.fields,
            base=shadow,
            # A value Baton could not read was not synced: leaving it out of the
            # shadow means it counts as a change once the mapping can read it.
            skip={ctx.config.fields[r.field].bindings[system].field for r in translation.rejected},
        ),
        record.modified_at,
    )
    return contact.id


def _changed_here(
    ctx: SyncContext, system: str, record: RawRecord, shadow: Mapping[str, Any] | None
) -> bool:
    """Did this system change the record's email since the last sync?

    Each system keeps the address it has until told otherwise; only the
    system where it changed moves the contact's email (no flip-flopping).
    """
    field = ctx.config.identity_binding(system).field
    return shadow is None or not same_vendor_value(record.fields.get(field), shadow.get(field))


def _email_taken(s: Session, email: str) -> bool:
    return repo.contact_by_email(s, email) is not None


def _shadow_of(
    ctx: SyncContext,
    system: str,
    fields: Mapping[str, Any],
    base: Mapping[str, Any] | None = None,
    skip: Collection[str] = (),
) -> dict[str, Any]:
    """The mapped vendor fields of a record, over the previous shadow."""
    wanted = [k for k in ctx.config.vendor_fields(system) if k not in skip]
    shadow = {k: v for k, v in (base or {}).items() if k in wanted}
    shadow.update({k: fields[k] for k in wanted if k in fields})
    return shadow


def _dead_letter_pull(
    ctx: SyncContext,
    s: Session,
    system: str,
    record: RawRecord,
    reason: str,
    field: str | None,
    contact_id: int | None = None,
) -> None:
    ctx.report.of(system).dead_lettered += 1
    repo.add_dead_letter(
        s,
        stage="pull",
        system=system,
        reason=f"{system} record {record.external_id}: {reason}",
        payload={
            "external_id": record.external_id,
            "modified_at": record.modified_at.isoformat(),
            "fields": dict(record.fields),
        },
        run_id=ctx.run_id,
        external_id=record.external_id,
        contact_id=contact_id,
        field=field,
    )


def plan_contacts(
    ctx: SyncContext, work: WorkingSet, contact_ids: Iterable[int]
) -> list[OutboxRow]:
    """Put the writes that bring every system up to each contact into the outbox."""
    planned: list[repo.PlannedWrite] = []
    for contact_id in sorted(contact_ids):
        contact = work.contact(contact_id)
        if contact is None:
            continue
        state = repo.contact_state(contact)
        for system in ctx.systems:
            link = work.link_of(system, contact_id)
            if link is None and not ctx.config.identity_binding(system).pushes:
                continue
            shadow = link.shadow if link is not None else None
            payload: dict[str, Any] = dict(plan_fields(ctx.config, system, state, shadow))
            if link is None:
                payload.setdefault(_CREATE, True)  # a record to create, even with no fields
            planned.append(
                repo.PlannedWrite(
                    system=system,
                    contact_id=contact_id,
                    email=_address_in(ctx, system, contact.email, shadow),
                    external_id=link.external_id if link is not None else None,
                    payload=payload,
                )
            )
    return repo.replace_pending_writes(work.session, planned, ctx.run_id)


def _address_in(ctx: SyncContext, system: str, email: str, shadow: Mapping[str, Any] | None) -> str:
    """The address a system knows the record by: after an email change in one
    system, the other still files the record under the old one."""
    if shadow is None:
        return email
    known = shadow.get(ctx.config.identity_binding(system).field)
    return str(known).strip() if known else email


# --- push -------------------------------------------------------------------


# Marks a planned create in the outbox payload; never sent.
_CREATE = "_create"


def _op(row: OutboxRow) -> WriteOp:
    fields = {k: v for k, v in row.payload.items() if k != _CREATE}
    return WriteOp(
        key=row.idempotency_key, email=row.email, fields=fields, external_id=row.external_id
    )


async def reconcile_in_flight(ctx: SyncContext, system: str) -> int:
    """Settle writes whose outcome a crash left unknown, by reading the records.

    Runs before anything is pulled. A write the remote already holds is marked
    sent (never sent twice). One it does not hold is dropped and its contact
    planned afresh from the current state, so a stale payload is never sent
    over a change made in the meantime.
    """
    with ctx.db.session() as s:
        rows = repo.in_flight_writes(s, system)
        ops = {row.idempotency_key: _op(row) for row in rows}
    if not rows:
        return 0
    connector = ctx.connectors[system]
    found: dict[str, RawRecord] = {}
    batch = connector.write_batch_size
    keys = list(ops)
    for start in range(0, len(keys), batch):
        found.update(await connector.read([ops[k] for k in keys[start : start + batch]]))
    with ctx.db.session() as s:
        rows = repo.in_flight_writes(s, system)
        work = WorkingSet(s)
        work.load_contacts({row.contact_id for row in rows})
        replan: set[int] = set()
        for row in rows:
            record = found.get(row.idempotency_key)
            if record is not None and write_applied(ops[row.idempotency_key].fields, record.fields):
                _mark_sent(ctx, work, row, record)
            else:
                row.status = "superseded"
                replan.add(row.contact_id)
        plan_contacts(ctx, work, replan)
        s.commit()
    return len(rows)


def claim_batch(ctx: SyncContext, system: str) -> list[WriteOp]:
    """Take the next batch of pending writes and mark it in flight (committed)."""
    connector = ctx.connectors[system]
    with ctx.db.session() as s:
        rows = repo.pending_writes(s, system, connector.write_batch_size)
        for row in rows:
            row.status = "in_flight"
            row.attempts += 1
        s.commit()
        return [_op(row) for row in rows]


async def push_batch(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
    """Send one claimed batch and record each outcome."""
    connector = ctx.connectors[system]
    outcomes = await connector.write(ops)
    exists: list[WriteOp] = []
    by_key = {op.key: op for op in ops}
    with ctx.db.session() as s:
        rows = repo.outbox_rows(s, [outcome.key for outcome in outcomes])
        work = WorkingSet(s)
        work.load_contacts({row.contact_id for row in rows.values()})
        for outcome in outcomes:
            row = rows[outcome.key]
            if outcome.ok and outcome.record is not None:
                _mark_sent(ctx, work, row, outcome.record)
            elif outcome.failure is not None and outcome.failure.category in _ALREADY_EXISTS:
                row.status = "superseded"
                exists.append(by_key[outcome.key])
            else:
                _dead_letter_push(ctx, s, row, outcome)
        repo.renew_lease(s, LEASE, ctx.run_id)
        s.commit()
    if exists:
        # The record exists there although Baton had no link: read it, link it,
        # merge it like any pulled record, and let planning turn the create into an update.
        records = await connector.read(exists)
        with ctx.db.session() as s:
            apply_records(ctx, s, system, records.values())
            unreadable = repo.outbox_rows(s, [op.key for op in exists if op.key not in records])
            for row in unreadable.values():
                # Neither created nor readable (archived, or in a compliance state):
                # keep it as a dead letter rather than lose it.
                failure = RecordFailure(f"{system} says the record exists but it cannot be read")
                _dead_letter_push(
                    ctx, s, row, WriteOutcome(key=row.idempotency_key, failure=failure)
                )
            s.commit()


def _mark_sent(ctx: SyncContext, work: WorkingSet, row: OutboxRow, record: RawRecord) -> None:
    counts = ctx.report.of(row.system)
    if row.external_id is None:
        counts.created += 1
    else:
        counts.updated += 1
    row.status = "sent"
    row.sent_at = utcnow()
    link = work.link_of(row.system, row.contact_id)
    base = dict(link.shadow) if link is not None else {}
    base.update({k: v for k, v in row.payload.items() if k != _CREATE})
    work.save_link(
        row.system,
        record.external_id,
        row.contact_id,
        _shadow_of(ctx, row.system, record.fields, base),
        record.modified_at,
    )


def _dead_letter_push(ctx: SyncContext, s: Session, row: OutboxRow, outcome: WriteOutcome) -> None:
    failure = outcome.failure
    reason = failure.message if failure else "no outcome"
    row.status = "dead"
    ctx.report.of(row.system).dead_lettered += 1
    repo.add_dead_letter(
        s,
        stage="push",
        system=row.system,
        reason=f"{row.system} refused the write for contact {row.contact_id}: {reason}",
        payload={"email": row.email, "external_id": row.external_id, "fields": row.payload},
        run_id=ctx.run_id,
        external_id=row.external_id,
        contact_id=row.contact_id,
        field=failure.field if failure else None,
        request_id=failure.request_id if failure else None,
    )
