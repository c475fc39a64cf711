"""The steps of one sync run as plain async functions (no Prefect here).

pull page -> normalize -> identify -> merge -> plan writes into the outbox, all
in one transaction per page; then drain the outbox in the largest batches each
API takes; cursors advance only after a stream's pages are committed and never
past the run's start. `flows.sync` wraps these steps in Prefect tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from connectors.contract import ContactConnector, Page, RawRecord, WriteOp, WriteOutcome
from flows.report import RunReport
from mapping.config import MappingConfig
from mapping.errors import FieldRejected
from mapping.merge import merge_incoming
from mapping.plan import plan_fields, write_applied
from mapping.schema import CANONICAL_FIELDS, IDENTITY_FIELD
from mapping.translate import to_canonical, translate_record
from state import repository as repo
from state.database import Database
from state.models import ContactRow, OutboxRow

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


def open_run(db: Database) -> tuple[int, datetime]:
    with db.session() as s:
        run = repo.start_run(s)
        s.commit()
        # Whole seconds: Mailchimp's last_changed has no finer precision.
        return run.id, run.started_at.replace(microsecond=0)


def close_run(ctx: SyncContext, status: str, error: str | None = None) -> None:
    from state.models import SyncRunRow, utcnow

    for system, connector in ctx.connectors.items():
        ctx.report.of(system).api_calls = connector.stats.total
    with ctx.db.session() as s:
        run = s.get(SyncRunRow, ctx.run_id)
        if run is not None:
            run.status = status
            run.finished_at = utcnow()
            run.stats = ctx.report.as_dict()
            run.error = error
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
        s.commit()
    return page.next_token


def apply_records(
    ctx: SyncContext, s: Session, system: str, records: Iterable[RawRecord]
) -> set[int]:
    """Normalize, identify, merge and plan writes for records of one system."""
    counts = ctx.report.of(system)
    touched: set[int] = set()
    for record in records:
        counts.pulled += 1
        contact = _apply_record(ctx, s, system, record)
        if contact is not None:
            touched.add(contact)
    for contact_id in touched:
        plan_contact(ctx, s, contact_id)
    return touched


def _apply_record(ctx: SyncContext, s: Session, system: str, record: RawRecord) -> int | None:
    counts = ctx.report.of(system)
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
        _dead_letter_pull(
            ctx,
            s,
            system,
            record,
            f"field {IDENTITY_FIELD!r}: {identity.field} is empty; contacts are matched by email",
            IDENTITY_FIELD,
        )
        return None

    link = repo.find_link(s, system, record.external_id)
    if link is not None:
        contact = s.get(ContactRow, link.contact_id)
        shadow: Mapping[str, Any] | None = link.shadow
    else:
        contact = repo.contact_by_email(s, email)
        shadow = None
        if contact is not None and repo.link_of(s, system, contact.id) is not None:
            other = repo.link_of(s, system, contact.id)
            _dead_letter_pull(
                ctx,
                s,
                system,
                record,
                f"duplicate: {email} is already linked to {system} record "
                f"{other.external_id if other else '?'}",
                IDENTITY_FIELD,
            )
            return None
    if contact is None:
        contact = repo.create_contact(s, email)
    elif contact.email != email:
        if repo.contact_by_email(s, email) is not None:
            _dead_letter_pull(
                ctx,
                s,
                system,
                record,
                f"email change to {email} collides with another contact",
                IDENTITY_FIELD,
            )
            return None
        contact.email = email

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
    repo.save_link(
        s,
        system,
        record.external_id,
        contact.id,
        _shadow_of(ctx, system, record.fields),
        record.modified_at,
    )
    return contact.id


def _shadow_of(
    ctx: SyncContext, system: str, fields: Mapping[str, Any], base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    wanted = ctx.config.vendor_fields(system)
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


def plan_contact(ctx: SyncContext, s: Session, contact_id: int) -> None:
    """Put the writes that bring every system up to the canonical contact in the outbox."""
    contact = s.get(ContactRow, contact_id)
    if contact is None:
        return
    state = repo.contact_state(contact)
    for system in ctx.systems:
        identity = ctx.config.identity_binding(system)
        link = repo.link_of(s, system, contact_id)
        if link is None and not identity.pushes:
            continue
        shadow = link.shadow if link is not None else None
        payload = plan_fields(ctx.config, system, state, shadow)
        if link is not None and not payload:
            repo.plan_write(
                s,
                system=system,
                contact_id=contact_id,
                email=contact.email,
                external_id=link.external_id,
                payload={},
                shadow=shadow,
                run_id=ctx.run_id,
            )
            continue
        repo.plan_write(
            s,
            system=system,
            contact_id=contact_id,
            email=contact.email,
            external_id=link.external_id if link else None,
            payload=payload or {"_create": True},
            shadow=shadow,
            run_id=ctx.run_id,
        )


# --- push -------------------------------------------------------------------


def _op(row: OutboxRow) -> WriteOp:
    fields = {k: v for k, v in row.payload.items() if not k.startswith("_")}
    return WriteOp(
        key=row.idempotency_key, email=row.email, fields=fields, external_id=row.external_id
    )


async def reconcile_in_flight(ctx: SyncContext, system: str) -> int:
    """Settle writes whose outcome a crash left unknown, by reading the records.

    A write the remote already holds is marked sent (never sent twice); one it
    does not hold goes back to pending.
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
        for row in repo.in_flight_writes(s, system):
            record = found.get(row.idempotency_key)
            if record is not None and write_applied(ops[row.idempotency_key].fields, record.fields):
                _mark_sent(ctx, s, row, record)
            else:
                row.status = "pending"
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
        for outcome in outcomes:
            row = s.scalars(_outbox_by_key(outcome.key)).one()
            if outcome.ok and outcome.record is not None:
                _mark_sent(ctx, s, row, outcome.record)
            elif outcome.failure is not None and outcome.failure.category in _ALREADY_EXISTS:
                row.status = "superseded"
                exists.append(by_key[outcome.key])
            else:
                _dead_letter_push(ctx, s, row, outcome)
        s.commit()
    if exists:
        # The record exists there although Baton had no link: read it, link it,
        # merge it like any pulled record, and let planning turn the create into an update.
        records = await connector.read(exists)
        with ctx.db.session() as s:
            apply_records(ctx, s, system, records.values())
            s.commit()


def _outbox_by_key(key: str) -> Any:
    from sqlalchemy import select

    return select(OutboxRow).where(OutboxRow.idempotency_key == key)


def _mark_sent(ctx: SyncContext, s: Session, row: OutboxRow, record: RawRecord) -> None:
    from state.models import utcnow

    counts = ctx.report.of(row.system)
    if row.external_id is None:
        counts.created += 1
    else:
        counts.updated += 1
    row.status = "sent"
    row.sent_at = utcnow()
    link = repo.link_of(s, row.system, row.contact_id)
    base = dict(link.shadow) if link is not None else {}
    base.update({k: v for k, v in row.payload.items() if not k.startswith("_")})
    repo.save_link(
        s,
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


def utc_now() -> datetime:
    return datetime.now(UTC)
