"""Which canonical contact an incoming record belongs to.

A record is found by its link `(system, external id or another id it is
known by)`, otherwise by its normalized email. Only the system where the
email changed moves the contact's email, so the two never flip-flop; the
other system's record then follows (`mapping.identity`). A second record of one system claiming
an address already linked there is a duplicate, reported and never merged
over the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.contract import RawRecord
from mapping.config import MappingConfig
from mapping.identity import absorb, survivor
from mapping.translate import same_vendor_value
from state import repository as repo
from state.models import RetiredReason
from state.retired import Retired, cancel_pending_of, cancel_pending_to
from state.working_set import Contact, Link, WorkingSet


@dataclass(frozen=True)
class Refused:
    """The record cannot be placed on a contact; `reason` says why."""

    reason: str


def place(
    work: WorkingSet, config: MappingConfig, system: str, record: RawRecord, email: str
) -> Contact | Refused:
    """The contact `record` (whose normalized email is `email`) belongs to.

    Creates the contact when nobody has the address yet; moves the contact's
    email when this system changed it.
    """
    link = find_link(work, system, record)
    contact = work.contact(link.contact_id) if link is not None else None
    if link is None:
        contact = work.contact_by_email(email)
        other = work.link_of(system, contact.id) if contact is not None else None
        # The system merged the linked record into this one: the same person,
        # under the survivor's id from now on (the link moves when it is saved).
        if other is not None and other.external_id not in record.merged_ids:
            return Refused(
                f"duplicate: {email} is already linked to {system} record {other.external_id}"
            )
    if contact is None:
        return work.create_contact(email)
    if contact.email != email and _changed_here(
        config, system, record, link.shadow if link else None
    ):
        if work.email_taken(email):
            return Refused(f"email change to {email} collides with another contact")
        work.change_email(contact, email)
    return contact


def find_link(work: WorkingSet, system: str, record: RawRecord) -> Link | None:
    """The record's link, by its id, another id it is known by, or the id of a record
    it absorbed (after `follow_merge`, only the survivor's is left)."""
    for external_id in ids_of(record):
        link = work.link(system, external_id)
        if link is not None:
            return link
    return None


def ids_of(record: RawRecord) -> tuple[str, ...]:
    """Every id Baton may have linked the record by."""
    return (record.external_id, *record.known_as, *record.merged_ids)


def retirement(work: WorkingSet, system: str, record: RawRecord) -> Retired | None:
    """Why the record is never to be synced again, if it is not."""
    for external_id in (record.external_id, *record.known_as):
        retired = work.retired(system, external_id)
        if retired is not None:
            return retired
    return None


def follow_merge(
    work: WorkingSet,
    systems: Iterable[str],
    system: str,
    record: RawRecord,
    email: str,
    run_id: int | None,
) -> bool:
    """Take in a merge the system made: the ids the record absorbed are retired (a
    write still planned for one is cancelled) and the contacts they were linked to
    collapse into one, whose link moves to the record's id when it is saved.

    The absorbed contacts' records elsewhere are left as they are and unlinked
    (their ids retired too): Baton neither archives nor unsubscribes them, and
    an opt-out on either contact stays one on the survivor. True when anything
    changed (the survivor is then planned again).
    """
    fresh = [m for m in record.merged_ids if work.retired(system, m) is None]
    if not fresh and all(work.link(system, m) is None for m in record.merged_ids):
        return False  # taken in already (the survivor keeps naming what it absorbed)
    linked: dict[int, Contact] = {}
    for external_id in ids_of(record):
        link = work.link(system, external_id)
        contact = work.contact(link.contact_id) if link is not None else None
        if contact is not None:
            linked.setdefault(contact.id, contact)
    kept_id = survivor([(c.id, c.email) for c in linked.values()], email) if linked else None
    for merged in fresh:
        work.retire(system, merged, RetiredReason.MERGED, kept_id, run_id)
    cancel_pending_to(work.session, system, fresh)
    if kept_id is None:
        return False
    kept = linked[kept_id]
    absorbed = [c for c in linked.values() if c.id != kept_id]
    for contact in absorbed:
        repo.store_state(kept, absorb(repo.contact_state(kept), repo.contact_state(contact)))
        for other in systems:
            link = work.link_of(other, contact.id)
            if link is None:
                continue
            if other != system:
                work.retire(other, link.external_id, RetiredReason.UNLINKED, kept_id, run_id)
            work.drop_link(link)
    cancel_pending_of(work.session, [c.id for c in absorbed])
    return True


def _changed_here(
    config: MappingConfig, system: str, record: RawRecord, shadow: Mapping[str, Any] | None
) -> bool:
    """Did this system change the record's email since the last sync?"""
    field = config.identity_binding(system).field
    return shadow is None or not same_vendor_value(record.fields.get(field), shadow.get(field))
