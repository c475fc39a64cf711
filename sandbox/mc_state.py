"""In-memory Mailchimp-style audience: members keyed by subscriber hash, write rules.

Callers hold the store lock; nothing here locks on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox.hs_properties import is_valid_email
from sandbox.mc_fields import MergeFieldRegistry
from sandbox.mc_rules import (
    ARCHIVED,
    LOCKED_ADDRESS_STATUSES,
    PATCH_STATUSES,
    WRITABLE_STATUSES,
    McError,
    blank,
    check_statuses,
    check_transition,
    invalid,
    standing,
)
from sandbox.presets import BATON_MERGE_FIELDS
from sandbox.records import McMember, subscriber_hash
from sandbox.timefmt import utcnow

__all__ = ["MailchimpState", "McError", "invalid_email"]
# Member keys a batch-subscribe entry may change on an existing member.
BATCH_UPDATE_KEYS = ("status", "merge_fields", "email_type")


def invalid_email(email: str) -> McError:
    return McError(
        400,
        "Invalid Resource",
        f"{email} looks fake or invalid, please enter a real email address.",
        [{"field": "email_address", "message": "This value is not a valid email address."}],
    )


class MailchimpState:
    """One audience's members plus the tag catalogue."""

    def __init__(self, fields: MergeFieldRegistry | None = None) -> None:
        self.fields = fields if fields is not None else MergeFieldRegistry(BATON_MERGE_FIELDS)
        self.members: dict[str, McMember] = {}
        self.tag_ids: dict[str, int] = {}
        self.next_web_id = 500001

    # -- lookup ----------------------------------------------------------
    @staticmethod
    def key_for(path_value: str) -> str:
        """The path segment may be the hash or (for convenience) the email itself."""
        return subscriber_hash(path_value) if "@" in path_value else path_value.strip().lower()

    def get(self, path_value: str) -> McMember | None:
        return self.members.get(self.key_for(path_value))

    def add_seeded(self, member: McMember) -> None:
        self.members[member.id] = member
        for tag in member.tags:
            self.tag_id(tag)
        self.next_web_id = max(self.next_web_id, member.web_id + 1)

    def tag_id(self, name: str) -> int:
        if name not in self.tag_ids:
            self.tag_ids[name] = 1000 + len(self.tag_ids)
        return self.tag_ids[name]

    def query(
        self,
        status: str | None,
        since: datetime | None,
        before: datetime | None,
        sort_field: str | None,
        descending: bool,
    ) -> list[McMember]:
        out = []
        for member in self.members.values():
            if status is None and member.status == ARCHIVED:
                continue  # archived members show only when asked for explicitly
            if status is not None and member.status != status:
                continue
            # Mailchimp documents both bounds as "changed after" / "changed before":
            # strict, so a client relying on inclusive bounds fails here too.
            if since is not None and member.last_changed <= since:
                continue
            if before is not None and member.last_changed >= before:
                continue
            out.append(member)
        if sort_field:
            out.sort(key=lambda m: (getattr(m, sort_field), m.web_id), reverse=descending)
        return out

    # -- writes ----------------------------------------------------------
    def add(self, body: Mapping[str, Any]) -> McMember:
        """``POST /members``: a new member (or an archived one re-added); raises McError."""
        email = _required_email(body)
        check_statuses(body, ("status",), WRITABLE_STATUSES)
        if "status" not in body:
            raise blank("status")
        return self._insert(email, str(body["status"]), body)

    def upsert(self, key: str, body: Mapping[str, Any]) -> tuple[McMember, bool]:
        """``PUT /members/{hash}``; returns (member, created); raises McError.

        The schema requires ``status_if_new`` on every PUT; it only applies when
        the member is new, while ``status`` changes an existing member.
        """
        email = _required_email(body)
        if subscriber_hash(email) != self.key_for(key):
            raise McError(
                400,
                "Invalid Resource",
                "The subscriber hash in the path does not match the email address.",
            )
        check_statuses(body, ("status", "status_if_new"), WRITABLE_STATUSES)
        if "status_if_new" not in body:
            raise blank("status_if_new")
        existing = self.members.get(subscriber_hash(email))
        if existing is None or existing.status == ARCHIVED:
            status = body.get("status") or body["status_if_new"]
            return self._insert(email, str(status), body), True
        self.update(existing, {k: v for k, v in body.items() if k != "status_if_new"})
        return existing, False

    def patch(self, member: McMember, body: Mapping[str, Any]) -> bool:
        """``PATCH /members/{hash}``; returns whether anything changed; raises McError.

        An ``email_address`` other than the member's own changes the member's
        address (see `change_email`); the rest of the body then applies to it.
        """
        check_statuses(body, ("status",), PATCH_STATUSES)
        email = body.get("email_address")
        moved = False
        if email is not None and subscriber_hash(str(email)) != member.id:
            self.change_email(member, str(email))
            moved = True
        return self.update(member, body) or moved

    def change_email(self, member: McMember, email: str) -> None:
        """Give the member a new address; it keeps its status, fields, tags and history.

        Stricter readings (docs/sandbox.md): the member's ``id`` is the hash of
        its address, so it changes and the old hash no longer finds it (only
        ``contact_id`` and ``web_id`` stay); an address already on the list,
        archived members included, is refused; a member in a compliance state
        (unsubscribed, cleaned) or archived cannot have its address changed.
        """
        email = email.strip()
        if not is_valid_email(email):
            raise invalid_email(email)
        if member.status in LOCKED_ADDRESS_STATUSES:
            raise McError(
                400,
                "Member In Compliance State",
                f"{member.email} is {member.status}: its email address cannot be changed.",
            )
        taken = self.members.get(subscriber_hash(email))
        if taken is not None:
            raise McError(
                400,
                "Member Exists",
                f"{email} is already a list member.",
                [{"field": "email_address", "message": "This address is already a list member."}],
            )
        del self.members[member.id]
        member.email = email
        self.members[member.id] = member
        member.last_changed = max(utcnow(), member.last_changed)

    def subscribe_one(
        self, item: Mapping[str, Any], update_existing: bool
    ) -> tuple[bool, McMember]:
        """One batch-subscribe member (statuses already checked); returns (created, member)."""
        if "status" not in item and "status_if_new" not in item:
            raise blank("status")
        email = _required_email(item)
        existing = self.get(email)
        if existing is None or existing.status == ARCHIVED:
            status = item.get("status") or item["status_if_new"]
            return True, self._insert(email, str(status), item)
        if not update_existing:
            raise McError(
                400,
                "Member Exists",
                f"{email} is already a list member, do you want to update? please provide "
                "update_existing:true in the request body",
                code="ERROR_CONTACT_EXISTS",
            )
        self.update(existing, {k: v for k, v in item.items() if k in BATCH_UPDATE_KEYS})
        return False, existing

    def _insert(self, email: str, status: str, body: Mapping[str, Any]) -> McMember:
        """Create a member with `status`, replacing an archived one of the same address."""
        self._check_merge(body)
        previous = self.members.get(subscriber_hash(email))
        if previous is not None:
            check_transition(email, standing(previous.status, previous.archived_from), status)
        now = utcnow()
        member = McMember(
            email=email,
            status=status,
            merge_fields={k: str(v) for k, v in (body.get("merge_fields") or {}).items()},
            timestamp_signup=now,
            timestamp_opt=now,
            last_changed=now,
            web_id=self.next_web_id,
            email_type=str(body.get("email_type") or "html"),
        )
        self.next_web_id += 1
        for tag in body.get("tags") or []:
            name = tag if isinstance(tag, str) else str(tag.get("name", ""))
            if name and name not in member.tags:
                member.tags.append(name)
                self.tag_id(name)
        self.members[member.id] = member
        return member

    def _check_merge(self, body: Mapping[str, Any]) -> None:
        merge = body.get("merge_fields")
        if merge is None:
            return
        if not isinstance(merge, dict):
            raise invalid([{"field": "merge_fields", "message": "Schema describes object"}])
        found = [(tag, self.fields.value_problem(tag, value)) for tag, value in merge.items()]
        problems = [{"field": tag, "message": message} for tag, message in found if message]
        if problems:
            raise McError(400, "Invalid Resource", "Your merge fields were invalid.", problems)

    def update(self, member: McMember, body: Mapping[str, Any]) -> bool:
        """Apply given fields (statuses already checked); returns whether anything changed."""
        email = body.get("email_address")
        if email is not None:
            email = str(email).strip()
            if not is_valid_email(email):
                raise invalid_email(email)
            if subscriber_hash(email) != member.id:
                raise McError(
                    400,
                    "Invalid Resource",
                    "The email address in the body does not match the member.",
                )
        self._check_merge(body)
        changed = False
        status = body.get("status")
        if status is not None and status != member.status:
            check_transition(member.email, standing(member.status, member.archived_from), status)
            member.status = str(status)
            member.archived_from = ""
            if status == "subscribed":
                member.timestamp_opt = utcnow()
            changed = True
        for tag, value in (body.get("merge_fields") or {}).items():
            text = "" if value is None else str(value)
            if member.merge_fields.get(tag, "") != text:
                member.merge_fields[tag] = text
                changed = True
        email_type = body.get("email_type")
        if email_type and email_type != member.email_type:
            member.email_type = str(email_type)
            changed = True
        if changed:
            member.last_changed = max(utcnow(), member.last_changed)
        return changed

    def archive(self, member: McMember) -> None:
        member.archived_from = member.status
        member.status = ARCHIVED
        member.last_changed = max(utcnow(), member.last_changed)

    def set_tags(self, member: McMember, tags: list[Mapping[str, Any]]) -> bool:
        changed = False
        for tag in tags:
            name = str(tag.get("name", "")).strip()
            if not name:
                continue
            active = str(tag.get("status", "active")) == "active"
            if active and name not in member.tags:
                member.tags.append(name)
                self.tag_id(name)
                changed = True
            elif not active and name in member.tags:
                member.tags.remove(name)
                changed = True
        if changed:
            member.last_changed = max(utcnow(), member.last_changed)
        return changed


def _required_email(body: Mapping[str, Any]) -> str:
    """The body's email address, or the Invalid Resource error Mailchimp gives."""
    email = str(body.get("email_address") or "").strip()
    if not email:
        raise McError(
            400,
            "Invalid Resource",
            "The resource submitted could not be validated.",
            [{"field": "email_address", "message": "This value should not be blank."}],
        )
    if not is_valid_email(email):
        raise invalid_email(email)
    return email
