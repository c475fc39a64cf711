"""Pull: fetch a page, normalize, identify, merge, and plan writes, in one
transaction per page."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connectors.contract import Page, RawRecord
from flows.context import SyncContext, keep_lease
from flows.planning import plan_contacts, shadow_of
from mapping.errors import FieldRejected
from mapping.merge import merge_incoming
from mapping.plan import UNREAD
from mapping.schema import CANONICAL_FIELDS, IDENTITY_FIELD
from mapping.translate import same_vendor_value, to_canonical, translate_record
from state import repository as repo
from state.working_set import WorkingSet

log = logging.getLogger("baton.sync")


async def pull_page(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> str | None:
    """Fetch one page and apply it in one transaction; returns the next token."""
    page: Page = await ctx.connectors[system].fetch_page(since, token)
    with ctx.db.session() as s:
        apply_records(ctx, s, system, page.records)
        keep_lease(ctx, s)
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
    # Only a copy that carries a field can take it off the unread list (a replay
    # brings just the identity and the failed field).
    previous = set((shadow or {}).get(UNREAD) or ())
    failed = {ctx.config.fields[r.field].bindings[system].field for r in translation.rejected}
    unread = (previous - set(record.fields)) | failed
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
        shadow_of(
            ctx,
            system,
            record.fields,
            base=shadow,
            unread=unread,
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
