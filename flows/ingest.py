"""Records from a system into Baton's state, in one direction per record:
translate (vendor -> canonical), place it on a contact, merge it field by
field, keep the link's shadow, then plan the writes (canonical -> vendor).

Pull, the settling of writes that met an existing record, and replay all
take records in through here, in the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from connectors.contract import RawRecord
from flows.context import SyncContext
from flows.identity import Refused, find_link, follow_merge, ids_of, place, retirement
from flows.planning import plan_contacts, shadow_of
from mapping.merge import MergeOutcome, merge_incoming
from mapping.schema import IDENTITY_FIELD
from mapping.translate import Translation, read_record
from state import repository as repo
from state.working_set import Contact, WorkingSet

log = logging.getLogger("baton.sync")


@dataclass(frozen=True)
class Incoming:
    """A record with its canonical reading."""

    record: RawRecord
    reading: Translation


def apply_records(
    ctx: SyncContext, s: Session, system: str, records: Iterable[RawRecord]
) -> set[int]:
    """Take records of one system in; returns the contacts they touched.

    A record that cannot be identified or placed is dead-lettered whole; a
    field that cannot be read is dead-lettered on its own and the rest of
    the record is used. Only contacts a record changed are planned again: a
    copy equal to what Baton last synced (a read-back of its own write, a
    record inside the overlap window) leaves the plans as they are.
    """
    counts = ctx.report.of(system)
    incoming = [Incoming(r, read_record(ctx.config, system, r.fields, r.email)) for r in records]
    work = _load(s, system, incoming)
    touched: set[int] = set()
    changed: set[int] = set()
    for item in incoming:
        counts.pulled += 1
        if retirement(work, system, item.record) is not None:
            counts.retired += 1  # merged away, unlinked or archived: never synced again
            continue
        if item.reading.email is None:
            problem = item.reading.unidentified
            _dead_letter(ctx, s, system, item.record, str(problem), IDENTITY_FIELD)
            continue
        if follow_merge(work, ctx.systems, system, item.record, item.reading.email, ctx.run_id):
            counts.merged += 1
            link = find_link(work, system, item.record)
            if link is not None:
                changed.add(link.contact_id)
        placed = place(work, ctx.config, system, item.record, item.reading.email)
        if isinstance(placed, Refused):
            _dead_letter(ctx, s, system, item.record, placed.reason, IDENTITY_FIELD)
            continue
        if _fold(ctx, work, system, item, placed):
            changed.add(placed.id)
        touched.add(placed.id)
    plan_contacts(ctx, work, changed)
    return touched


def _load(s: Session, system: str, incoming: list[Incoming]) -> WorkingSet:
    """The page's contacts and links, with contacts for new addresses created
    in one flush."""
    emails = [i.reading.email for i in incoming if i.reading.email is not None]
    work = WorkingSet(s)
    ids = [x for i in incoming for x in ids_of(i.record)]
    work.load_records(system, ids, emails)
    newcomers = {
        i.reading.email: None
        for i in incoming
        if i.reading.email is not None
        and retirement(work, system, i.record) is None
        and find_link(work, system, i.record) is None
        and work.contact_by_email(i.reading.email) is None
    }
    work.create_contacts(newcomers)
    return work


def _fold(
    ctx: SyncContext, work: WorkingSet, system: str, item: Incoming, contact: Contact
) -> bool:
    """Merge the record into its contact and keep what the system now holds; True when
    that changed anything planning looks at (the contact, the link, its shadow)."""
    record, reading = item.record, item.reading
    link = find_link(work, system, record)
    shadow = link.shadow if link is not None else None
    ctx.report.of(system).kept_unmapped += len(reading.kept)
    for rejected in reading.rejected:
        _dead_letter(
            ctx,
            work.session,
            system,
            record,
            str(rejected),
            rejected.field,
            contact.id,
            value=rejected.value,
        )
    outcome = merge_incoming(
        ctx.config,
        system,
        reading.values,
        record.fields,
        shadow,
        repo.contact_state(contact),
        record.modified_at,
    )
    if outcome.changed:
        repo.store_state(contact, outcome.state)
    _count(ctx, system, contact, outcome)
    unread = _unread_after(ctx, system, item, link.unread if link is not None else [])
    new_shadow = shadow_of(ctx.config, system, record.fields, base=shadow, unread=unread)
    replan = (
        link is None
        or link.contact_id != contact.id
        or bool(outcome.changed)
        or new_shadow != shadow
        or sorted(unread) != list(link.unread or [])
    )
    work.save_link(
        system, record.external_id, contact.id, new_shadow, record.modified_at, unread=unread
    )
    return replan


def _unread_after(
    ctx: SyncContext, system: str, item: Incoming, previous: Iterable[str]
) -> set[str]:
    """Vendor fields still unread after this copy. Only a copy that carries a
    field can take it off the list (a replay brings just the identity and the
    failed field)."""
    failed = {ctx.config.fields[r.field].bindings[system].field for r in item.reading.rejected}
    return (set(previous) - set(item.record.fields)) | failed


def _count(ctx: SyncContext, system: str, contact: Contact, outcome: MergeOutcome) -> None:
    counts = ctx.report.of(system)
    if outcome.changed:
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


def _dead_letter(
    ctx: SyncContext,
    s: Session,
    system: str,
    record: RawRecord,
    reason: str,
    field: str | None,
    contact_id: int | None = None,
    *,
    value: str | None = None,
) -> None:
    """Keep the record whole (replay reads it again) and, for one field, the value that
    failed."""
    ctx.report.of(system).dead_lettered += 1
    payload: dict[str, object] = {
        "external_id": record.external_id,
        "modified_at": record.modified_at.isoformat(),
        "fields": dict(record.fields),
    }
    if value is not None:
        payload["rejected_value"] = value
    repo.add_dead_letter(
        s,
        stage="pull",
        system=system,
        reason=f"{system} record {record.external_id}: {reason}",
        payload=payload,
        run_id=ctx.run_id,
        external_id=record.external_id,
        contact_id=contact_id,
        field=field,
    )
