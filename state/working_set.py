"""The contacts and links one page (or one batch) touches, loaded in a few queries.

Looking each record up on its own costs several queries per record; a page
of 1,000 records would make thousands. A `WorkingSet` loads what the page
needs up front and keeps new rows in step, so the page costs a handful of
queries plus its inserts and updates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from state.models import ContactRow, LinkRow, utcnow
from state.repository import chunks


class WorkingSet:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._contacts: dict[int, ContactRow] = {}
        self._by_email: dict[str, ContactRow] = {}
        self._links: dict[tuple[str, str], LinkRow] = {}
        self._links_of: dict[tuple[str, int], LinkRow] = {}

    # -- loading ---------------------------------------------------------------

    def load_records(self, system: str, external_ids: Iterable[str], emails: Iterable[str]) -> None:
        """Everything needed to identify and plan records pulled from `system`
        (`external_ids` may include other ids the records are known by)."""
        ids = sorted(set(external_ids))
        for chunk in chunks(ids):
            self._remember_links(
                self.session.scalars(
                    select(LinkRow).where(LinkRow.system == system, LinkRow.external_id.in_(chunk))
                )
            )
        contact_ids = {link.contact_id for link in self._links.values()}
        for chunk in chunks(sorted(set(emails))):
            self._remember_contacts(
                self.session.scalars(select(ContactRow).where(ContactRow.email.in_(chunk)))
            )
        self.load_contacts(contact_ids | set(self._contacts))

    def load_contacts(self, contact_ids: Collection[int]) -> None:
        """Contacts by id, with their links in every system."""
        missing = sorted(set(contact_ids) - set(self._contacts))
        for chunk in chunks(missing):
            self._remember_contacts(
                self.session.scalars(select(ContactRow).where(ContactRow.id.in_(chunk)))
            )
        for chunk in chunks(sorted(contact_ids)):
            self._remember_links(
                self.session.scalars(select(LinkRow).where(LinkRow.contact_id.in_(chunk)))
            )

    def load_links(self, system: str, contact_ids: Collection[int]) -> None:
        """The links of these contacts in one system only (recording a batch's outcomes
        needs nothing else)."""
        for chunk in chunks(sorted(set(contact_ids))):
            self._remember_links(
                self.session.scalars(
                    select(LinkRow).where(LinkRow.system == system, LinkRow.contact_id.in_(chunk))
                )
            )

    def _remember_contacts(self, rows: Iterable[ContactRow]) -> None:
        for row in rows:
            self._contacts[row.id] = row
            self._by_email[row.email] = row

    def _remember_links(self, rows: Iterable[LinkRow]) -> None:
        for row in rows:
            self._links[(row.system, row.external_id)] = row
            self._links_of[(row.system, row.contact_id)] = row

    # -- lookups ---------------------------------------------------------------

    def link(self, system: str, external_id: str) -> LinkRow | None:
        return self._links.get((system, external_id))

    def link_of(self, system: str, contact_id: int) -> LinkRow | None:
        return self._links_of.get((system, contact_id))

    def contact(self, contact_id: int) -> ContactRow | None:
        return self._contacts.get(contact_id)

    def contact_by_email(self, email: str) -> ContactRow | None:
        return self._by_email.get(email)

    # -- changes ---------------------------------------------------------------

    def create_contact(self, email: str) -> ContactRow:
        return self.create_contacts([email])[0]

    def create_contacts(self, emails: Iterable[str]) -> list[ContactRow]:
        """New contacts, inserted in one flush (their ids are needed for links)."""
        rows = [ContactRow(email=email, values={}, provenance={}) for email in emails]
        self.session.add_all(rows)
        self.session.flush()
        self._remember_contacts(rows)
        return rows

    def change_email(self, contact: ContactRow, email: str) -> None:
        self._by_email.pop(contact.email, None)
        contact.email = email
        self._by_email[email] = contact

    def save_link(
        self,
        system: str,
        external_id: str,
        contact_id: int,
        shadow: Mapping[str, Any],
        remote_modified_at: datetime | None,
        unread: Collection[str] | None = None,
    ) -> LinkRow:
        """Create or refresh the link and replace its shadow (and, when given,
        its list of fields Baton could not read)."""
        link = self.link_of(system, contact_id) or self.link(system, external_id)
        if link is None:
            link = LinkRow(system=system, external_id=external_id, contact_id=contact_id)
            self.session.add(link)
        else:
            self._links.pop((link.system, link.external_id), None)
        link.external_id = external_id
        link.contact_id = contact_id
        link.shadow = dict(shadow)
        if unread is not None:
            link.unread = sorted(unread)
        elif link.unread is None:
            link.unread = []
        link.remote_modified_at = remote_modified_at
        link.synced_at = utcnow()
        self._remember_links([link])
        return link
