"""The contacts and links one page (or one batch) touches, loaded in a few queries
and written back in a few statements.

Looking each record up on its own costs several queries per record; a page
of 1,000 records would make thousands. A `WorkingSet` loads what the page
needs up front, as plain objects (no ORM identity map or change tracking:
for a page that is most of the cost), keeps new rows in step, and writes
what changed when the session commits (or on `write()`): one executemany
per kind of change, in the page's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, event, insert, select, update
from sqlalchemy.orm import Session

from state.models import ContactRow, LinkRow, RetiredIdRow, RetiredReason, utcnow
from state.repository import chunks
from state.retired import Retired, retired_among, retired_of_contacts

_CONTACTS = cast(Table, ContactRow.__table__)
_LINKS = cast(Table, LinkRow.__table__)
_RETIRED = cast(Table, RetiredIdRow.__table__)
_REGISTERED = "baton.working_sets"


@dataclass(eq=False)
class Contact:
    """A canonical contact as a page works on it (`state.models.ContactRow`'s columns)."""

    id: int
    email: str
    values: dict[str, Any]
    provenance: dict[str, Any]


@dataclass(eq=False)
class Link:
    """A link as a page works on it (`state.models.LinkRow`'s columns); `id` None: new."""

    system: str
    external_id: str
    contact_id: int
    shadow: dict[str, Any]
    unread: list[str]
    remote_modified_at: datetime | None
    synced_at: datetime
    id: int | None = None


@dataclass
class _Written:
    """What a contact held when loaded or last written: a change is a new value."""

    email: str
    values: dict[str, Any]
    provenance: dict[str, Any]


@dataclass
class WorkingSet:
    session: Session
    _contacts: dict[int, Contact] = field(default_factory=dict)
    _by_email: dict[str, Contact] = field(default_factory=dict)
    _written: dict[int, _Written] = field(default_factory=dict)
    _links: dict[tuple[str, str], Link] = field(default_factory=dict)
    _links_of: dict[tuple[str, int], Link] = field(default_factory=dict)
    _link_ids: set[int] = field(default_factory=set)  # links loaded or written
    _saved: dict[int, Link] = field(default_factory=dict)  # by id(link): to write
    _retired: dict[tuple[str, str], Retired] = field(default_factory=dict)
    _retired_of: dict[tuple[str, int], Retired] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.session.info.setdefault(_REGISTERED, []).append(self)

    # -- loading ---------------------------------------------------------------

    def load_records(self, system: str, external_ids: Iterable[str], emails: Iterable[str]) -> None:
        """Everything needed to identify and plan records pulled from `system`
        (`external_ids` may include other ids the records are known by)."""
        ids = sorted(set(external_ids))
        for retired in retired_among(self.session, system, ids).values():
            self._remember_retired(retired)
        for chunk in chunks(ids):
            self._remember_links(
                select(_LINKS).where(_LINKS.c.system == system, _LINKS.c.external_id.in_(chunk))
            )
        contact_ids = {link.contact_id for link in self._links.values()}
        for chunk in chunks(sorted(set(emails))):
            self._remember_contacts(select(_CONTACTS).where(_CONTACTS.c.email.in_(chunk)))
        self.load_contacts(contact_ids | set(self._contacts))

    def load_contacts(self, contact_ids: Collection[int]) -> None:
        """Contacts by id, with their links in every system."""
        missing = sorted(set(contact_ids) - set(self._contacts))
        for chunk in chunks(missing):
            self._remember_contacts(select(_CONTACTS).where(_CONTACTS.c.id.in_(chunk)))
        for chunk in chunks(sorted(contact_ids)):
            self._remember_links(select(_LINKS).where(_LINKS.c.contact_id.in_(chunk)))
        for retired in retired_of_contacts(self.session, contact_ids):
            self._remember_retired(retired)

    def load_links(self, system: str, contact_ids: Collection[int]) -> None:
        """The links of these contacts in one system only (recording a batch's outcomes
        needs nothing else)."""
        for chunk in chunks(sorted(set(contact_ids))):
            self._remember_links(
                select(_LINKS).where(_LINKS.c.system == system, _LINKS.c.contact_id.in_(chunk))
            )

    def _remember_contacts(self, query: Any) -> None:
        for row in self.session.execute(query):
            if row.id in self._contacts:
                continue  # what this page already holds is newer
            self._keep_contact(Contact(row.id, row.email, row.values, row.provenance))

    def _keep_contact(self, contact: Contact) -> None:
        self._contacts[contact.id] = contact
        self._by_email[contact.email] = contact
        self._written[contact.id] = _Written(contact.email, contact.values, contact.provenance)

    def _remember_links(self, query: Any) -> None:
        for row in self.session.execute(query):
            if row.id in self._link_ids:
                continue  # what this page already holds is newer
            self._link_ids.add(row.id)
            self._keep_link(_link_of_row(row))

    def _remember_retired(self, retired: Retired) -> None:
        self._retired[(retired.system, retired.external_id)] = retired
        if retired.contact_id is not None:
            self._retired_of[(retired.system, retired.contact_id)] = retired

    def _keep_link(self, link: Link) -> None:
        self._links[(link.system, link.external_id)] = link
        self._links_of[(link.system, link.contact_id)] = link

    # -- lookups ---------------------------------------------------------------

    def link(self, system: str, external_id: str) -> Link | None:
        return self._links.get((system, external_id))

    def link_of(self, system: str, contact_id: int) -> Link | None:
        return self._links_of.get((system, contact_id))

    def retired(self, system: str, external_id: str) -> Retired | None:
        """The retirement of an id loaded with `load_records` or with its contact (or
        retired here)."""
        return self._retired.get((system, external_id))

    def retired_of(self, system: str, contact_id: int) -> Retired | None:
        """A record of the contact in `system` that Baton retired (loaded with the contact):
        the contact gets no new record there."""
        return self._retired_of.get((system, contact_id))

    def contact(self, contact_id: int) -> Contact | None:
        return self._contacts.get(contact_id)

    def contact_by_email(self, email: str) -> Contact | None:
        return self._by_email.get(email)

    def email_taken(self, email: str) -> bool:
        """Does any contact hold `email`, in this page or in the database?"""
        if email in self._by_email:
            return True
        held = self.session.execute(
            select(_CONTACTS.c.id).where(_CONTACTS.c.email == email)
        ).scalar_one_or_none()
        # A contact this page moved off the address no longer holds it.
        return held is not None and held not in self._contacts

    # -- changes ---------------------------------------------------------------

    def create_contact(self, email: str) -> Contact:
        return self.create_contacts([email])[0]

    def create_contacts(self, emails: Iterable[str]) -> list[Contact]:
        """New contacts, inserted in one statement (their ids are needed for links)."""
        wanted = list(emails)
        if not wanted:
            return []
        now = utcnow()
        params = [
            {"email": e, "values": {}, "provenance": {}, "created_at": now, "updated_at": now}
            for e in wanted
        ]
        ids: dict[str, int] = {}
        for chunk in chunks(params):
            result = self.session.execute(
                insert(_CONTACTS).returning(_CONTACTS.c.id, _CONTACTS.c.email), list(chunk)
            )
            ids.update({row.email: row.id for row in result})
        rows = [Contact(ids[e], e, {}, {}) for e in wanted]
        for row in rows:
            self._keep_contact(row)
        return rows

    def retire(
        self,
        system: str,
        external_id: str,
        reason: RetiredReason,
        contact_id: int | None,
        run_id: int | None,
    ) -> None:
        """Never write to `external_id` again (a second retirement keeps the first).
        Inserted at once: retirements are rare, and later statements of the page
        (cancelling planned writes) go by them."""
        key = (system, external_id)
        if key in self._retired:
            return
        known = retired_among(self.session, system, [external_id]).get(external_id)
        if known is None:
            known = Retired(system, external_id, reason, contact_id)
            self.session.execute(
                insert(_RETIRED),
                [
                    {
                        "system": system,
                        "external_id": external_id,
                        "reason": reason,
                        "contact_id": contact_id,
                        "run_id": run_id,
                        "retired_at": utcnow(),
                    }
                ],
            )
        self._remember_retired(known)

    def drop_link(self, link: Link) -> None:
        """The record is no longer this contact's (its id was retired)."""
        self._links.pop((link.system, link.external_id), None)
        if self._links_of.get((link.system, link.contact_id)) is link:
            del self._links_of[(link.system, link.contact_id)]
        self._saved.pop(id(link), None)
        if link.id is not None:
            # Deleted at once, before any link written at commit takes its slot.
            self.session.execute(delete(_LINKS).where(_LINKS.c.id == link.id))

    def change_email(self, contact: Contact, email: str) -> None:
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
    ) -> Link:
        """Create or refresh the link and replace its shadow (and, when given,
        its list of fields Baton could not read)."""
        link = self.link_of(system, contact_id) or self.link(system, external_id)
        if link is None:
            link = Link(system, external_id, contact_id, {}, [], None, utcnow())
        else:
            self._links.pop((link.system, link.external_id), None)
            self._links_of.pop((link.system, link.contact_id), None)
        link.external_id = external_id
        link.contact_id = contact_id
        link.shadow = dict(shadow)
        if unread is not None:
            link.unread = sorted(unread)
        link.remote_modified_at = remote_modified_at
        link.synced_at = utcnow()
        self._keep_link(link)
        self._saved[id(link)] = link
        return link

    # -- writing ---------------------------------------------------------------

    def write(self) -> None:
        """Write what changed since loading (or the last write): a few statements."""
        s = self.session
        moved: list[dict[str, Any]] = []
        now = utcnow()
        for contact in self._contacts.values():
            was = self._written[contact.id]
            if (
                contact.values is was.values
                and contact.provenance is was.provenance
                and contact.email == was.email
            ):
                continue
            moved.append(
                {
                    "b_id": contact.id,
                    "email": contact.email,
                    "values": contact.values,
                    "provenance": contact.provenance,
                    "updated_at": now,
                }
            )
            self._written[contact.id] = _Written(contact.email, contact.values, contact.provenance)
        if moved:
            s.execute(
                update(_CONTACTS).where(_CONTACTS.c.id == bindparam("b_id")),
                moved,
                execution_options={"synchronize_session": False},
            )
        saved, self._saved = list(self._saved.values()), {}
        fresh = [link for link in saved if link.id is None]
        known = [link for link in saved if link.id is not None]
        if known:
            s.execute(
                update(_LINKS).where(_LINKS.c.id == bindparam("b_id")),
                [{"b_id": link.id, **_link_columns(link)} for link in known],
                execution_options={"synchronize_session": False},
            )
        for chunk in chunks(fresh):
            result = s.execute(
                insert(_LINKS).returning(_LINKS.c.id, _LINKS.c.system, _LINKS.c.contact_id),
                [_link_columns(link) for link in chunk],
            )
            ids = {(row.system, row.contact_id): row.id for row in result}
            for link in chunk:
                link.id = ids[(link.system, link.contact_id)]
                self._link_ids.add(link.id)


def _link_of_row(row: Row[Any]) -> Link:
    return Link(
        system=row.system,
        external_id=row.external_id,
        contact_id=row.contact_id,
        shadow=row.shadow,
        unread=row.unread if row.unread is not None else [],
        remote_modified_at=row.remote_modified_at,
        synced_at=row.synced_at,
        id=row.id,
    )


def _link_columns(link: Link) -> dict[str, Any]:
    return {
        "system": link.system,
        "external_id": link.external_id,
        "contact_id": link.contact_id,
        "shadow": link.shadow,
        "unread": link.unread,
        "remote_modified_at": link.remote_modified_at,
        "synced_at": link.synced_at,
    }


def write_working_sets(s: Session) -> None:
    """Write what the session's working sets changed (before its commit)."""
    for work in s.info.get(_REGISTERED, []):
        work.write()


@event.listens_for(Session, "before_commit")
def _before_commit(s: Session) -> None:
    write_working_sets(s)


@event.listens_for(Session, "after_soft_rollback")
def _forget(s: Session, _previous: object) -> None:
    # Rolled back: what the working sets held is no longer what the database holds.
    s.info.pop(_REGISTERED, None)
