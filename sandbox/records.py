"""Record types held by the sandbox and their vendor-shaped JSON renderings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.hs_properties import DEFAULT_PROPERTIES
from sandbox.timefmt import hubspot_iso, mailchimp_iso

# Kept by HubSpot itself; their history is their current value.
SYSTEM_PROPERTIES = frozenset({"createdate", "lastmodifieddate", "hs_object_id"})


def subscriber_hash(email: str) -> str:
    """Mailchimp member id: md5 hex of the trimmed, lower-cased email."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


@dataclass
class HubContact:
    """A HubSpot-style contact; every property value is a string or None."""

    id: int
    props: dict[str, str | None]
    created: datetime
    updated: datetime
    archived: bool = False
    # How the first values arrived (``sourceType`` of their history entries).
    origin: str = "IMPORT"
    # Versions of a property since its first value, oldest first: (value, when, sourceType).
    # A property absent here has had one value only, from ``created`` (kept implicit so a
    # seeded portal costs nothing extra).
    history: dict[str, list[tuple[str | None, datetime, str]]] = field(default_factory=dict)

    def set_prop(self, name: str, value: str | None, when: datetime, source: str) -> bool:
        """Write one value, keeping its history; returns whether it changed."""
        old = self.props.get(name)
        if (old or "") == (value or ""):
            return False
        if name not in self.history:
            self.history[name] = [(old, self.created, self.origin)] if old else []
        self.history[name].append((value, when, source))
        self.props[name] = value
        return True

    def versions(self, name: str) -> list[dict[str, Any]]:
        """``propertiesWithHistory`` entries of one property, newest first."""
        if name in SYSTEM_PROPERTIES:
            when = self.updated if name == "lastmodifieddate" else self.created
            found: list[tuple[str | None, datetime, str]] = [
                (self.props.get(name) or "", when, "CALCULATED")
            ]
        elif name in self.history:
            found = list(self.history[name])
        else:
            value = self.props.get(name)
            found = [(value, self.created, self.origin)] if value else []
        return [
            {"value": v, "timestamp": hubspot_iso(t), "sourceType": source}
            for v, t, source in reversed(found)
        ]

    def sync_system_props(self) -> None:
        """Keep the server-managed properties in step with the record fields."""
        self.props["createdate"] = hubspot_iso(self.created)
        self.props["lastmodifieddate"] = hubspot_iso(self.updated)
        self.props["hs_object_id"] = str(self.id)

    def to_json(
        self, requested: Iterable[str] = (), with_history: Iterable[str] = ()
    ) -> dict[str, Any]:
        names = list(DEFAULT_PROPERTIES)
        names.extend(n for n in requested if n and n not in names)
        history = {n: self.versions(n) for n in with_history}
        return {
            "id": str(self.id),
            "properties": {n: self.props.get(n) for n in names},
            **({"propertiesWithHistory": history} if history else {}),
            "createdAt": hubspot_iso(self.created),
            "updatedAt": hubspot_iso(self.updated),
            "archived": self.archived,
            **({"archivedAt": hubspot_iso(self.updated)} if self.archived else {}),
        }


@dataclass
class Owner:
    """A HubSpot owner (user who can own contacts)."""

    id: int
    email: str
    first_name: str
    last_name: str
    user_id: int
    created: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "type": "PERSON",
            "teams": [],
            "archived": False,
            "createdAt": hubspot_iso(self.created),
            "updatedAt": hubspot_iso(self.created),
        }


@dataclass
class McMember:
    """A Mailchimp-style list member."""

    email: str
    status: str
    merge_fields: dict[str, str]
    timestamp_signup: datetime
    timestamp_opt: datetime
    last_changed: datetime
    web_id: int
    tags: list[str] = field(default_factory=list)
    unsubscribe_reason: str = ""
    member_rating: int = 2
    email_type: str = "html"
    avg_open_rate: float = 0.0
    avg_click_rate: float = 0.0
    # The status a member had when it was archived: an archived member that had
    # unsubscribed or bounced stays in its compliance state when it is re-added.
    archived_from: str = ""
    # The contact record's own id: Mailchimp documents `id` as the hash of the
    # address (it follows an email change) and `contact_id` as the record's id
    # (it does not). Fixed from the address the member was created with.
    contact_key: str = ""

    def __post_init__(self) -> None:
        if not self.contact_key:
            self.contact_key = subscriber_hash(self.email)

    @property
    def id(self) -> str:
        return subscriber_hash(self.email)

    def to_json(
        self, list_id: str, tag_ids: dict[str, int], merge_tags: Iterable[str]
    ) -> dict[str, Any]:
        """The member as the API shows it; ``merge_tags`` are the audience's merge fields."""
        digest = self.id
        full = " ".join(
            p for p in (self.merge_fields.get("FNAME", ""), self.merge_fields.get("LNAME", "")) if p
        )
        body: dict[str, Any] = {
            "id": digest,
            "email_address": self.email,
            "unique_email_id": digest[:10],
            "contact_id": hashlib.md5((self.contact_key + list_id).encode()).hexdigest(),
            "full_name": full,
            "web_id": self.web_id,
            "email_type": self.email_type,
            "status": self.status,
            "merge_fields": {tag: self.merge_fields.get(tag, "") for tag in merge_tags},
            "stats": {"avg_open_rate": self.avg_open_rate, "avg_click_rate": self.avg_click_rate},
            "ip_signup": "",
            "timestamp_signup": mailchimp_iso(self.timestamp_signup),
            "ip_opt": "",
            "timestamp_opt": mailchimp_iso(self.timestamp_opt),
            "member_rating": self.member_rating,
            "last_changed": mailchimp_iso(self.last_changed),
            "language": "",
            "vip": False,
            "email_client": "",
            "location": {
                "latitude": 0,
                "longitude": 0,
                "gmtoff": 0,
                "dstoff": 0,
                "country_code": "",
                "timezone": "",
            },
            "source": "API - Generic",
            "tags_count": len(self.tags),
            "tags": [{"id": tag_ids.get(t, 0), "name": t} for t in self.tags],
            "list_id": list_id,
        }
        if self.status == "unsubscribed" and self.unsubscribe_reason:
            body["unsubscribe_reason"] = self.unsubscribe_reason
        return body
