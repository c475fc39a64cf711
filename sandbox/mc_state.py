"""In-memory Mailchimp-style audience: members keyed by subscriber hash, write rules.

Callers hold the store lock; nothing here locks on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.hs_properties import is_valid_email
from sandbox.mc_fields import MergeFieldRegistry
from sandbox.presets import BATON_MERGE_FIELDS
from sandbox.records import McMember, subscriber_hash
from sandbox.timefmt import utcnow

WRITABLE_STATUSES = frozenset({"subscribed", "unsubscribed", "cleaned", "pending", "transactional"})
COMPLIANCE_STATUSES = frozenset({"unsubscribed", "cleaned"})
OPT_IN_STATUSES = frozenset({"subscribed", "pending"})


@dataclass
class McError(Exception):
    """A refused member write, rendered as problem+json (or a batch ``errors`` entry)."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    code: str = "ERROR_GENERIC"


def invalid_email(email: str) -> McError:
    return McError(
        400,
        "Invalid Resource",
        f"{email} looks fake or invalid, please enter a real email address.",
        [{"field": "email_address", "message": "This value is not a valid email address."}],
    )


def _check_fields(body: Mapping[str, Any], fields: MergeFieldRegistry) -> None:
    """Validate status and merge fields common to every member write."""
    for key in ("status", "status_if_new"):
        value = body.get(key)
        if value is not None and value not in WRITABLE_STATUSES:
            raise McError(
                400,
                "Invalid Resource",
                "The resource submitted could not be validated. For field-specific details, "
                "see the 'errors' array.",
                [
                    {
                        "field": key,
                        "message": "Data presented is not one of the accepted values: "
                        + ", ".join(sorted(WRITABLE_STATUSES))
                        + ".",
                    }
                ],
            )
    merge = body.get("merge_fields")
    if merge is None:
        return
    if not isinstance(merge, dict):
        raise McError(
            400,
            "Invalid Resource",
            "merge_fields must be an object.",
            [{"field": "merge_fields", "message": "Schema describes object"}],
        )
    problems = [(tag, fields.value_problem(tag, value)) for tag, value in merge.items()]
    invalid = [{"field": tag, "message": message} for tag, message in problems if message]
    if invalid:
        raise McError(400, "Invalid Resource", "Your merge fields were invalid.", invalid)


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
            if status is None and member.status == "archived":
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
    def create(self, body: Mapping[str, Any], allow_if_new: bool = False) -> McMember:
        """Add a new member (or revive an archived one); raises McError."""
        email = _required_email(body)
        _check_fields(body, self.fields)
        status = body.get("status") or (body.get("status_if_new") if allow_if_new else None)
        if not status:
            raise McError(
                400,
                "Invalid Resource",
                "status is required",
                [{"field": "status", "message": "This value should not be blank."}],
            )
        now = utcnow()
        member = McMember(
            email=email,
            status=str(status),
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

    def update(self, member: McMember, body: Mapping[str, Any]) -> bool:
        """Apply given fields; returns whether anything changed; raises McError."""
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
        _check_fields(body, self.fields)
        changed = False
        status = body.get("status")
        if status is not None and status != member.status:
            if member.status in COMPLIANCE_STATUSES and status in OPT_IN_STATUSES:
                raise McError(
                    400,
                    "Member In Compliance State",
                    f"{member.email} is already a list member in compliance state due to "
                    "unsubscribe, bounce, or compliance review and cannot be subscribed.",
                )
            member.status = str(status)
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

    def upsert(self, key: str, body: Mapping[str, Any]) -> tuple[McMember, bool]:
        """PUT semantics; returns (member, created)."""
        email = _required_email(body)
        if subscriber_hash(email) != self.key_for(key):
            raise McError(
                400,
                "Invalid Resource",
                "The subscriber hash in the path does not match the email address.",
            )
        existing = self.members.get(subscriber_hash(email))
        if existing is None or existing.status == "archived":
            if existing is not None:
                del self.members[existing.id]
            return self.create(body, allow_if_new=True), True
        self.update(existing, {k: v for k, v in body.items() if k != "status_if_new"})
        return existing, False

    def archive(self, member: McMember) -> None:
        member.status = "archived"
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
