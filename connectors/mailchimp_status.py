"""Which member status changes Mailchimp lets Baton make.

Healthcare marketing lives on consent: Baton never subscribes an existing
member, and an unsubscribed, cleaned or archived member is left alone (only
the person can opt back in, through Mailchimp's own forms).
"""

from __future__ import annotations

from connectors.contract import ConsentMeaning

STATUS_FIELD = "status"
# What each member status means for marketing email.
STATUS_MEANINGS: dict[str, ConsentMeaning] = {
    "subscribed": ConsentMeaning.GRANTED,
    "pending": ConsentMeaning.REQUESTED,
    "transactional": ConsentMeaning.NONE,
    "archived": ConsentMeaning.NONE,
    "unsubscribed": ConsentMeaning.WITHDRAWN,
    "cleaned": ConsentMeaning.WITHDRAWN,
}

# What a member's status may be changed to by Baton, keyed by the current
# status. Anything not listed is left alone.
_ALLOWED: dict[str, frozenset[str]] = {
    "subscribed": frozenset({"unsubscribed"}),
    "pending": frozenset({"unsubscribed"}),
    "transactional": frozenset({"unsubscribed"}),
    "unsubscribed": frozenset(),
    "cleaned": frozenset(),
    "archived": frozenset(),
}
# Members whose address Mailchimp will not change: only a contact that can be
# mailed has its address edited (an unsubscribed person's address stays theirs).
ADDRESS_LOCKED: frozenset[str] = frozenset({"unsubscribed", "cleaned", "archived"})
# Statuses a new member may be created with; "cleaned" is the platform's own verdict.
_NEW: frozenset[str] = frozenset({"subscribed", "pending", "unsubscribed", "transactional"})


def guard_status(desired: str | None, current: str | None) -> str | None:
    """The status Baton may send, or None to leave the member's status alone.

    `current` is None for a member Baton is about to create.
    """
    if desired is None:
        return None
    if current is None:
        if desired == "cleaned":
            return "unsubscribed"
        return desired if desired in _NEW else None
    if desired == current:
        return None
    return desired if desired in _ALLOWED.get(current, frozenset()) else None
