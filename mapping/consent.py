"""Consent rules that hold whatever the mapping file says.

Healthcare marketing lives on consent: Baton never subscribes anyone on its
own, an explicit opt-out or bounce is never overwritten by "not specified",
and only the person (through the email platform) can opt back in.
"""

from __future__ import annotations

from datetime import datetime

from mapping.schema import Consent

# What the email platform's member status may be changed to by Baton, keyed
# by the current status. Anything not listed is left alone.
_MAILCHIMP_ALLOWED: dict[str, frozenset[str]] = {
    "subscribed": frozenset({"unsubscribed"}),
    "pending": frozenset({"unsubscribed"}),
    "transactional": frozenset({"unsubscribed"}),
    "unsubscribed": frozenset(),
    "cleaned": frozenset(),
    "archived": frozenset(),
}
# Statuses a new member may be created with; "cleaned" is the platform's own verdict.
_MAILCHIMP_NEW: frozenset[str] = frozenset(
    {"subscribed", "pending", "unsubscribed", "transactional"}
)
_EXPLICIT = frozenset({Consent.OPTED_IN, Consent.OPTED_OUT, Consent.BOUNCED, Consent.PENDING})


def resolve_consent(
    current: str | None,
    current_at: datetime | None,
    incoming: str | None,
    incoming_at: datetime,
) -> str | None:
    """Which consent value survives when both systems changed it.

    An explicit value beats "not specified"; between explicit values the newer
    one wins (an opt-out after an opt-in, or a person re-subscribing later).
    """
    if incoming is None:
        return current
    if current is None:
        return incoming
    if incoming not in _EXPLICIT and current in _EXPLICIT:
        return current
    if current not in _EXPLICIT and incoming in _EXPLICIT:
        return incoming
    if current_at is None or incoming_at >= current_at:
        return incoming
    return current


def guard_mailchimp_status(desired: str | None, current: str | None) -> str | None:
    """The status Baton may send, or None to leave the member's status alone.

    `current` is None for a member Baton is about to create.
    """
    if desired is None:
        return None
    if current is None:
        if desired == "cleaned":
            return "unsubscribed"
        return desired if desired in _MAILCHIMP_NEW else None
    if desired == current:
        return None
    return desired if desired in _MAILCHIMP_ALLOWED.get(current, frozenset()) else None
