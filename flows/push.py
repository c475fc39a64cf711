"""Push: settle writes a crash left in flight, claim batches from the outbox,
send them, and record each outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum

from sqlalchemy.orm import Session

from connectors.contract import RawRecord, RecordFailure, WriteOp, WriteOutcome
from flows.context import SyncContext, in_db, keep_lease
from flows.ingest import apply_records
from flows.planning import plan_contacts, shadow_of
from mapping.plan import write_applied
from state import repository as repo
from state.models import OutboxStatus, utcnow
from state.repository import OutboxEntry
from state.working_set import WorkingSet


def _op(row: OutboxEntry) -> WriteOp:
    return WriteOp(
        key=row.idempotency_key,
        email=row.email,
        fields=dict(row.payload),
        external_id=row.external_id,
    )


async def reconcile_in_flight(ctx: SyncContext, system: str) -> int:
    """Settle writes whose outcome a crash left unknown, by reading the records.

    Runs before anything is pulled. A write the remote already holds is marked
    sent (never sent twice). One it does not hold is dropped and its contact
    planned afresh from the current state, so a stale payload is never sent
    over a change made in the meantime.
    """
    ops = await in_db(ctx, _in_flight_ops, ctx, system)
    if not ops:
        return 0
    connector = ctx.connectors[system]
    found: dict[str, RawRecord] = {}
    batch = connector.write_batch_size
    keys = list(ops)
    for start in range(0, len(keys), batch):
        found.update(await connector.read([ops[k] for k in keys[start : start + batch]]))
    return await in_db(ctx, _settle_in_flight, ctx, system, ops, found)


def _in_flight_ops(ctx: SyncContext, system: str) -> dict[str, WriteOp]:
    with ctx.db.session() as s:
        return {row.idempotency_key: _op(row) for row in repo.in_flight_writes(s, system)}


def _settle_in_flight(
    ctx: SyncContext, system: str, ops: Mapping[str, WriteOp], found: Mapping[str, RawRecord]
) -> int:
    with ctx.db.session() as s:
        rows = repo.in_flight_writes(s, system)
        work = WorkingSet(s)
        work.load_contacts({row.contact_id for row in rows})
        replan: set[int] = set()
        sent: list[int] = []
        dropped: list[int] = []
        for row in rows:
            record = found.get(row.idempotency_key)
            op = ops.get(row.idempotency_key)
            if record is not None and op is not None and write_applied(op.fields, record.fields):
                _mark_sent(ctx, work, row, record, settled=True)
                sent.append(row.id)
            else:
                dropped.append(row.id)
                replan.add(row.contact_id)
        repo.set_outbox_status(s, sent, OutboxStatus.SENT, sent_at=utcnow())
        repo.set_outbox_status(s, dropped, OutboxStatus.SUPERSEDED)
        plan_contacts(ctx, work, replan)
        keep_lease(ctx, s)
        s.commit()
        return len(rows)


class Claim(Enum):
    """Which of a system's pending writes may be claimed now."""

    LINKED_THIS_RUN = "linked-this-run"
    """Updates of records this run has read (pulled or written): the system's own
    pull is still going, and any other record may hold a change it has not brought
    in yet, or (for a create) already exist on a later page."""
    ALL = "all"
    """The system's pull is done."""


def claim_batch(ctx: SyncContext, system: str, claim: Claim, *, whole: bool) -> list[WriteOp]:
    """Take the next batch of pending writes and mark it in flight (committed).

    A batch holds creates only or updates only (each is one call). With
    `whole`, only a full batch is taken: while pulls still plan writes, a
    part-filled batch would cost a call the floor does not need.
    """
    size = ctx.connectors[system].write_batch_size
    since = ctx.started_at if claim is Claim.LINKED_THIS_RUN else None
    kinds = (False,) if claim is Claim.LINKED_THIS_RUN else (True, False)
    with ctx.db.session() as s:
        for creates in kinds:
            available = repo.count_pending(s, system, size, creates=creates, linked_since=since)
            if available == 0 or (whole and available < size):
                continue
            rows = repo.pending_writes(s, system, size, creates=creates, linked_since=since)
            ops = [_op(row) for row in rows]
            repo.mark_in_flight(s, [row.id for row in rows])
            keep_lease(ctx, s)
            s.commit()
            return ops
    return []


async def push_batch(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
    """Send one claimed batch and record each outcome."""
    connector = ctx.connectors[system]
    outcomes = await connector.write(ops)
    exists = await in_db(ctx, _record_outcomes, ctx, system, ops, outcomes)
    if exists:
        # The record exists there although Baton had no link: read it, link it,
        # merge it like any pulled record, and let planning turn the create into an update.
        records = await connector.read(exists)
        await in_db(ctx, _take_existing, ctx, system, exists, records)


def _record_outcomes(
    ctx: SyncContext, system: str, ops: Sequence[WriteOp], outcomes: Sequence[WriteOutcome]
) -> list[WriteOp]:
    """Mark sent or dead-letter each outcome; returns the creates that met an existing record."""
    connector = ctx.connectors[system]
    exists: list[WriteOp] = []
    by_key = {op.key: op for op in ops}
    with ctx.db.session() as s:
        rows = repo.outbox_rows(s, [outcome.key for outcome in outcomes])
        work = WorkingSet(s)
        work.load_links(system, {row.contact_id for row in rows.values()})
        sent: list[OutboxEntry] = []
        dead: list[int] = []
        for outcome in outcomes:
            row = rows[outcome.key]
            if row.status != OutboxStatus.IN_FLIGHT:
                continue  # settled by a run that took the lease over
            if outcome.ok and outcome.record is not None:
                _mark_sent(ctx, work, row, outcome.record)
                sent.append(row)
            elif outcome.failure is not None and connector.rules.already_exists(outcome.failure):
                # Stays in flight until the record is read: should that fail, the
                # next run's crash check picks the write up again.
                exists.append(by_key[outcome.key])
            else:
                _dead_letter_push(ctx, s, row, outcome)
                dead.append(row.id)
        repo.set_outbox_status(s, [row.id for row in sent], OutboxStatus.SENT, sent_at=utcnow())
        repo.set_outbox_status(s, dead, OutboxStatus.DEAD)
        repo.resolve_push_letters(s, system, [row.contact_id for row in sent])
        s.commit()
    return exists


def _take_existing(
    ctx: SyncContext, system: str, exists: Sequence[WriteOp], records: Mapping[str, RawRecord]
) -> None:
    with ctx.db.session() as s:
        rows = repo.outbox_rows(s, [op.key for op in exists])
        repo.set_outbox_status(
            s, [row.id for key, row in rows.items() if key in records], OutboxStatus.SUPERSEDED
        )
        for key, row in rows.items():
            if key not in records:
                # Neither created nor readable (archived, or in a compliance state):
                # keep it as a dead letter rather than lose it.
                failure = RecordFailure(f"{system} says the record exists but it cannot be read")
                _dead_letter_push(ctx, s, row, WriteOutcome(key=key, failure=failure))
                repo.set_outbox_status(s, [row.id], OutboxStatus.DEAD)
        apply_records(ctx, s, system, records.values())
        keep_lease(ctx, s)
        s.commit()


def _mark_sent(
    ctx: SyncContext,
    work: WorkingSet,
    row: OutboxEntry,
    record: RawRecord,
    *,
    settled: bool = False,
) -> None:
    """Record a write the system holds (the caller marks it sent). `settled`: sent by
    a run that died, found applied by this one, so counted apart from this run's own
    writes."""
    counts = ctx.report.of(row.system)
    if settled:
        counts.settled += 1
    elif row.external_id is None:
        counts.created += 1
    else:
        counts.updated += 1
    link = work.link_of(row.system, row.contact_id)
    base = dict(link.shadow) if link is not None else {}
    base.update(row.payload)
    unread = link.unread if link is not None else []
    work.save_link(
        row.system,
        record.external_id,
        row.contact_id,
        shadow_of(ctx.config, row.system, record.fields, base, unread),
        # The last copy Baton pulled stays the reference: a write-back is not one.
        link.remote_modified_at if link is not None else None,
    )


def _dead_letter_push(
    ctx: SyncContext, s: Session, row: OutboxEntry, outcome: WriteOutcome
) -> None:
    """Keep the refusal as a letter (the caller marks the write dead)."""
    failure = outcome.failure
    reason = failure.message if failure else "no outcome"
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
