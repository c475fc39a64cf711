"""Which canonical contact an incoming record belongs to.

A record is found by its link `(system, external id or another id it is
known by)`, otherwise by its normalized email. Only the system where the
email changed moves the contact's email, so the two never flip-flop; the
other system's record then follows (`mapping.identity`). A second record of one system claiming
an address already linked there is a duplicate, reported and never merged
over the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.contract import RawRecord
from mapping.config import MappingConfig
from mapping.translate import same_vendor_value
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
    """The record's link, by its id or by another id it is known by."""
    for external_id in (record.external_id, *record.known_as):
        link = work.link(system, external_id)
        if link is not None:
            return link
    return None


def _changed_here(
    config: MappingConfig, system: str, record: RawRecord, shadow: Mapping[str, Any] | None
) -> bool:
    """Did this system change the record's email since the last sync?"""
    field = config.identity_binding(system).field
    return shadow is None or not same_vendor_value(record.fields.get(field), shadow.get(field))
