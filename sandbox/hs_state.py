"""In-memory HubSpot-style contact table with id order and an email index.

Callers hold the store lock; nothing here locks on its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sandbox.hs_index import SandboxClock, SearchIndex
from sandbox.hs_properties import (
    PROPERTIES,
    PropertyError,
    describe_errors,
    normalise_value,
    validate_properties,
)
from sandbox.hs_schema import PropertyRegistry
from sandbox.hs_search import compile_groups, parse_sorts, sort_key
from sandbox.hs_subscriptions import CommPrefs, SetReason, StatusEntry, SubStatus
from sandbox.records import HubContact, Owner
from sandbox.timefmt import utcnow


@dataclass
class WriteFailure:
    """Why one record write was refused (one entry of a 207 ``errors`` list)."""

    category: str
    message: str
    errors: list[PropertyError] = field(default_factory=list)
    status: int = 400


def email_key(email: str | None) -> str:
    """Index key: trimmed, lower-cased email."""
    return (email or "").strip().lower()


def _contact_sort_key(name: str, contact: HubContact) -> tuple[int, float | str]:
    return sort_key(contact.props, name)


def _describe(errors: list[PropertyError]) -> str:
    return describe_errors(errors)


def _ignore(name: str) -> None:
    return None


class HubSpotState:
    """Contacts (sorted by numeric id, ids only ever grow) plus owners."""

    def __init__(
        self, schema: PropertyRegistry | None = None, index: SearchIndex | None = None
    ) -> None:
        # Search reads this index, which may see writes late (sandbox.hs_index).
        self.index = index if index is not None else SearchIndex(SandboxClock())
        self.schema = schema if schema is not None else PropertyRegistry(PROPERTIES.values())
        self.contacts: dict[int, HubContact] = {}
        self.ids: list[int] = []  # ascending because ids are allocated increasingly
        self.by_email: dict[str, int] = {}
        self.owners: list[Owner] = []
        self.next_id = 1001
        # Merged-away id -> the id of the record that absorbed it.
        self.merged_into: dict[int, int] = {}
        self.comm = CommPrefs()
        # Told the name of every read-only property a write tried to set (for the counters).
        self.on_read_only: Callable[[str], None] = _ignore

    # -- loading ---------------------------------------------------------
    def add_seeded(self, contact: HubContact) -> None:
        contact.sync_system_props()
        self.contacts[contact.id] = contact
        self.ids.append(contact.id)
        key = email_key(contact.props.get("email"))
        if key:
            self.by_email[key] = contact.id
            # Seed data states the opt-out directly; the status behind it is recorded here.
            if contact.props.get("hs_email_optout") == "true":
                self.comm.unsubscribe_all(key, contact.updated, "Seeded")
            contact.props.update(self.comm.contact_props(key))
        self.next_id = max(self.next_id, contact.id + 1)

    # -- reads -----------------------------------------------------------
    def get(self, ident: str, id_property: str | None = None) -> HubContact | None:
        if id_property == "email":
            found = self.by_email.get(email_key(ident))
            contact = self.contacts.get(found) if found is not None else None
        else:
            contact = self.contacts.get(self.survivor(int(ident))) if ident.isdigit() else None
        if contact is None or contact.archived:
            return None
        return contact

    def page(self, after: int, limit: int, archived: bool) -> tuple[list[HubContact], int | None]:
        """Contacts with id > after; returns the page and the next cursor, if any."""
        start = bisect.bisect_right(self.ids, after)
        out: list[HubContact] = []
        index = start
        while index < len(self.ids) and len(out) < limit:
            contact = self.contacts[self.ids[index]]
            if contact.archived == archived:
                out.append(contact)
            index += 1
        more = self._any_after(index, archived)
        return out, (out[-1].id if out and more else None)

    def _any_after(self, index: int, archived: bool) -> bool:
        return any(self.contacts[i].archived == archived for i in self.ids[index:])

    def search(self, body: Mapping[str, Any]) -> list[HubContact]:
        """All live contacts matching the body's filters, in the requested order."""
        matcher = compile_groups(body.get("filterGroups"))
        sorts = parse_sorts(body.get("sorts"))
        indexed = (
            self.index.contacts() if self.index.lagging else (self.contacts[i] for i in self.ids)
        )
        hits = [c for c in indexed if not c.archived and matcher(c.props)]
        # Stable sorts applied last-key-first give a multi-key order; id order is the base.
        for name, descending in reversed(sorts):
            hits.sort(key=partial(_contact_sort_key, name), reverse=descending)
        return hits

    # -- writes ----------------------------------------------------------
    def create(
        self, raw: Mapping[str, Any], now: datetime | None = None
    ) -> HubContact | WriteFailure:
        errors = validate_properties(dict(raw), None, self.schema.properties)
        errors += self._owner_errors(raw)
        self._count_read_only(errors)
        if errors:
            return WriteFailure("VALIDATION_ERROR", _describe(errors), errors)
        props = {k: normalise_value(k, v) for k, v in raw.items()}
        key = email_key(props.get("email"))
        if key and key in self.by_email:
            existing = self.by_email[key]
            return WriteFailure(
                "CONFLICT", f"Contact already exists. Existing ID: {existing}", status=409
            )
        moment = now or utcnow()
        contact = HubContact(self.next_id, dict(props), moment, moment, origin="API")
        self.next_id += 1
        contact.sync_system_props()
        self.contacts[contact.id] = contact
        self.ids.append(contact.id)
        if key:
            self.by_email[key] = contact.id
            # A status recorded for the address before the contact existed applies to it.
            contact.props.update(self.comm.contact_props(key))
        self.index.note(contact)
        return contact

    def update(self, contact: HubContact, raw: Mapping[str, Any]) -> WriteFailure | bool:
        """Apply ``raw``; returns whether anything changed (or why it was refused)."""
        errors = validate_properties(dict(raw), contact.props, self.schema.properties)
        errors += self._owner_errors(raw)
        self._count_read_only(errors)
        if errors:
            return WriteFailure("VALIDATION_ERROR", _describe(errors), errors)
        props = {k: normalise_value(k, v) for k, v in raw.items()}
        new_key = email_key(props.get("email")) if "email" in props else None
        old_key = email_key(contact.props.get("email"))
        if new_key and self.by_email.get(new_key, contact.id) != contact.id:
            return WriteFailure(
                "CONFLICT",
                f"Contact already exists. Existing ID: {self.by_email[new_key]}",
                status=409,
            )
        changed = False
        now = utcnow()
        for name, value in props.items():
            changed = contact.set_prop(name, value, now, "API") or changed
        if new_key is not None and new_key != old_key:
            self.by_email.pop(old_key, None)
            if new_key:
                self.by_email[new_key] = contact.id
            contact.props.update(self.comm.contact_props(new_key))
        if changed:
            contact.updated = max(now, contact.updated)
            contact.sync_system_props()
            self.index.note(contact)
        return changed

    def _owner_errors(self, raw: Mapping[str, Any]) -> list[PropertyError]:
        """`hubspot_owner_id` is an enumeration whose options are the portal's owners."""
        value = raw.get("hubspot_owner_id")
        if value is None or str(value) == "":
            return []
        known = [str(o.id) for o in self.owners]
        if str(value) in known:
            return []
        message = f"{value} was not one of the allowed options: [{', '.join(known)}]"
        return [PropertyError("INVALID_OPTION", message, "hubspot_owner_id")]

    def _count_read_only(self, errors: list[PropertyError]) -> None:
        for error in errors:
            if error.code == "READ_ONLY_VALUE":
                self.on_read_only(error.name)

    # -- communication preferences ------------------------------------------
    def record_status(self, key: str, subscription_id: int, entry: StatusEntry) -> SetReason:
        """Set one subscription status of an address; the contact shows it at once."""
        reason = self.comm.set_status(key, subscription_id, entry)
        self._show_consent(key, entry.timestamp)
        return reason

    def unsubscribe_all(self, key: str, now: datetime, source: str) -> bool:
        changed = self.comm.unsubscribe_all(key, now, source)
        self._show_consent(key, now)
        return changed

    def is_opted_out_of_all(self, key: str) -> bool:
        return key in self.comm.opted_out_all

    def status(self, key: str, subscription_id: int) -> SubStatus:
        return self.comm.status(key, subscription_id)

    def _show_consent(self, key: str, now: datetime) -> None:
        found = self.by_email.get(key)
        contact = self.contacts.get(found) if found is not None else None
        if contact is None:
            return
        props = self.comm.contact_props(key)
        # HubSpot derives these from the subscription statuses: their source is CALCULATED.
        changed = [contact.set_prop(k, v, now, "CALCULATED") for k, v in props.items()]
        if any(changed):
            contact.updated = max(now, contact.updated)
            contact.sync_system_props()
            self.index.note(contact)

    def archive(self, contact: HubContact) -> None:
        contact.archived = True
        contact.updated = utcnow()
        contact.sync_system_props()
        self.index.note(contact)
        key = email_key(contact.props.get("email"))
        if self.by_email.get(key) == contact.id:
            del self.by_email[key]

    def survivor(self, contact_id: int) -> int:
        """The id a (possibly merged-away) id resolves to now."""
        while contact_id in self.merged_into:
            contact_id = self.merged_into[contact_id]
        return contact_id

    def merge(self, primary: HubContact, other: HubContact) -> HubContact:
        """``POST /contacts/merge``: both records become one under a new id.

        Stricter reading than "the primary keeps its id": the result always
        carries a new id (HubSpot documents that it may), so a client that
        keeps the old ids must follow them. The primary's values win; the
        other's fill its gaps. Both old ids resolve to the result on GET,
        leave list and search, and are named in ``hs_merged_object_ids``.
        """
        props: dict[str, str | None] = {k: v for k, v in other.props.items() if v not in (None, "")}
        props.update({k: v for k, v in primary.props.items() if v not in (None, "")})
        absorbed = [
            *(primary.props.get("hs_merged_object_ids") or "").split(";"),
            *(other.props.get("hs_merged_object_ids") or "").split(";"),
            str(primary.id),
            str(other.id),
        ]
        props["hs_merged_object_ids"] = ";".join(i for i in absorbed if i)
        other_email = email_key(other.props.get("email"))
        if other_email and other_email != email_key(primary.props.get("email")):
            props["hs_additional_emails"] = str(other.props.get("email") or "").strip()
        # Opt-outs belong to the address (as every status here does): the result shows
        # those of its own address, never another address's copied over.
        props.update(self.comm.contact_props(email_key(props.get("email"))))
        now = utcnow()
        result = HubContact(self.next_id, props, min(primary.created, other.created), now)
        self.next_id += 1
        result.sync_system_props()
        self.contacts[result.id] = result
        self.ids.append(result.id)
        self.index.note(result)
        for old in (primary, other):
            self.merged_into[old.id] = result.id
            self.ids.remove(old.id)
            self.index.drop(old.id)
            key = email_key(old.props.get("email"))
            if key and self.by_email.get(key) == old.id:
                self.by_email[key] = result.id
        return result

    def live_count(self) -> int:
        return sum(1 for _ in self.iter_live())

    def iter_live(self) -> Iterable[HubContact]:
        return (
            c for c in self.contacts.values() if not c.archived and c.id not in self.merged_into
        )
