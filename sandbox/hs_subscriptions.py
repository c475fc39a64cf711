"""HubSpot-style communication preferences (Subscriptions v4): definitions and statuses.

A status belongs to the email address, not to a contact: it can be set for an address no
contact has yet, and a contact created later (or renamed to it) shows it. Where HubSpot's
documentation leaves a point open, this takes the stricter reading:

- a batch holds at most 100 inputs (HubSpot documents no limit);
- an input that breaks the request schema (missing field, unknown enum value, a
  ``subscriptionId`` that is not an integer) fails the whole request with a 400; inputs that
  are well formed but cannot be applied (unknown or inactive subscription, malformed email,
  no legal basis on a GDPR portal, subscribing an address unsubscribed from all email) fail
  on their own, as ``errors[]`` entries of a 207;
- on a GDPR-enabled portal every write needs ``legalBasis`` and ``legalBasisExplanation``;
- an opt-out (``UNSUBSCRIBED`` for any subscription, or unsubscribe-all) shows on the
  contact as ``hs_email_optout = true`` (and ``hs_email_optout_<id> = true`` for that
  subscription) and bumps ``lastmodifieddate``. Real portals document ``hs_email_optout``
  as "unsubscribed from all email"; Baton must not rely on it for a single subscription,
  which is why the connector also reads ``hs_email_optout_<id>``.
- resubscribing (``SUBSCRIBED`` or ``NOT_SPECIFIED`` over ``UNSUBSCRIBED``) is answered
  ``RESUBSCRIBE_OCCURRED`` and counted (``consent_reversals`` in ``/_sandbox/stats``) so
  tests can assert Baton never does it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sandbox.timefmt import hubspot_iso

BATCH_MAX = 100
LEGAL_BASES = frozenset(
    {
        "CONSENT_WITH_NOTICE",
        "LEGITIMATE_INTEREST_CLIENT",
        "LEGITIMATE_INTEREST_OTHER",
        "LEGITIMATE_INTEREST_PQL",
        "NON_GDPR",
        "PERFORMANCE_OF_CONTRACT",
        "PROCESS_AND_STORE",
    }
)
_DEFINED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class SubStatus(StrEnum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    NOT_SPECIFIED = "NOT_SPECIFIED"


class SetReason(StrEnum):
    NO_STATUS_CHANGE = "NO_STATUS_CHANGE"
    REQUESTED_CHANGE_OCCURRED = "REQUESTED_CHANGE_OCCURRED"
    RESUBSCRIBE_OCCURRED = "RESUBSCRIBE_OCCURRED"
    UNSUBSCRIBE_FROM_ALL_OCCURRED = "UNSUBSCRIBE_FROM_ALL_OCCURRED"


@dataclass(frozen=True)
class Subscription:
    """One subscription type of the portal."""

    id: int
    name: str
    description: str
    purpose: str
    is_default: bool = False
    is_internal: bool = False
    is_active: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "description": self.description,
            "purpose": self.purpose,
            "communicationMethod": "Email",
            "isActive": self.is_active,
            "isDefault": self.is_default,
            "isInternal": self.is_internal,
            "createdAt": hubspot_iso(_DEFINED_AT),
            "updatedAt": hubspot_iso(_DEFINED_AT),
        }


# Every portal's subscription types: the default marketing one, the internal one-to-one
# type, a custom newsletter and a retired one (inactive: writes to it are refused).
SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        5_843_001, "Marketing Information", "Marketing offers and updates.", "Marketing", True
    ),
    Subscription(5_843_002, "One to One", "One to one emails.", "Sales", True, is_internal=True),
    Subscription(5_843_003, "Patient Newsletter", "Monthly clinic news.", "Marketing"),
    Subscription(
        5_843_004, "Seasonal Campaigns", "Retired campaign list.", "Marketing", is_active=False
    ),
)
DEFAULT_SUBSCRIPTION_ID = SUBSCRIPTIONS[0].id


def optout_property(subscription_id: int) -> str:
    """The read-only contact property that mirrors an opt-out of one subscription."""
    return f"hs_email_optout_{subscription_id}"


@dataclass
class StatusEntry:
    status: SubStatus
    source: str
    timestamp: datetime
    legal_basis: str | None = None
    explanation: str | None = None


@dataclass
class CommPrefs:
    """Statuses per (lower-cased) email address and subscription id, plus portal-wide opt-outs."""

    subscriptions: tuple[Subscription, ...] = SUBSCRIPTIONS
    statuses: dict[str, dict[int, StatusEntry]] = field(default_factory=dict)
    opted_out_all: dict[str, datetime] = field(default_factory=dict)

    def subscription(self, subscription_id: int) -> Subscription | None:
        return next((s for s in self.subscriptions if s.id == subscription_id), None)

    def status(self, key: str, subscription_id: int) -> SubStatus:
        entry = self.statuses.get(key, {}).get(subscription_id)
        return entry.status if entry is not None else SubStatus.NOT_SPECIFIED

    def set_status(self, key: str, subscription_id: int, entry: StatusEntry) -> SetReason:
        before = self.status(key, subscription_id)
        if before is entry.status:
            return SetReason.NO_STATUS_CHANGE
        self.statuses.setdefault(key, {})[subscription_id] = entry
        if before is SubStatus.UNSUBSCRIBED:
            return SetReason.RESUBSCRIBE_OCCURRED
        return SetReason.REQUESTED_CHANGE_OCCURRED

    def unsubscribe_all(self, key: str, now: datetime, source: str) -> bool:
        """Opt the address out of everything; False when it already was."""
        if key in self.opted_out_all:
            return False
        self.opted_out_all[key] = now
        for sub in self.subscriptions:
            self.statuses.setdefault(key, {})[sub.id] = StatusEntry(
                SubStatus.UNSUBSCRIBED, source, now
            )
        return True

    def contact_props(self, key: str) -> dict[str, str | None]:
        """The read-only opt-out properties a contact with this address shows."""
        entries = self.statuses.get(key, {})
        any_out = key in self.opted_out_all or any(
            e.status is SubStatus.UNSUBSCRIBED for e in entries.values()
        )
        props: dict[str, str | None] = {"hs_email_optout": "true" if any_out else "false"}
        for sub in self.subscriptions:
            entry = entries.get(sub.id)
            props[optout_property(sub.id)] = (
                None if entry is None else str(entry.status is SubStatus.UNSUBSCRIBED).lower()
            )
        return props

    def status_json(self, email: str, key: str, sub: Subscription) -> dict[str, Any]:
        entry = self.statuses.get(key, {}).get(sub.id)
        out: dict[str, Any] = {
            "channel": "EMAIL",
            "subscriberIdString": email,
            "subscriptionId": sub.id,
            "subscriptionName": sub.name,
            "status": (entry.status if entry else SubStatus.NOT_SPECIFIED).value,
            "source": entry.source if entry else "Default",
            "timestamp": hubspot_iso(entry.timestamp if entry else _DEFINED_AT),
        }
        if entry is not None and entry.legal_basis:
            out["legalBasis"] = entry.legal_basis
        if entry is not None and entry.explanation:
            out["legalBasisExplanation"] = entry.explanation
        return out
