"""Consent rules that hold whatever the mapping file says.

Healthcare marketing lives on consent: Baton never subscribes anyone on its
own, an explicit opt-out or bounce is never overwritten by "not specified",
and only the person (through the email platform) can opt back in.
"""

from __future__ import annotations

from datetime import datetime

from connectors.contract import ConsentMeaning
from mapping.schema import Consent

# How much permission each canonical consent value stands for; a mapping may never
# write or read a vendor value as more than this (see `mapping.validation`).
MEANING: dict[Consent, ConsentMeaning] = {
    Consent.OPTED_OUT: ConsentMeaning.WITHDRAWN,
    Consent.BOUNCED: ConsentMeaning.WITHDRAWN,
    Consent.NOT_SPECIFIED: ConsentMeaning.NONE,
    Consent.PENDING: ConsentMeaning.REQUESTED,
    Consent.OPTED_IN: ConsentMeaning.GRANTED,
}

_EXPLICIT = frozenset({Consent.OPTED_IN, Consent.OPTED_OUT, Consent.BOUNCED, Consent.PENDING})
_WITHDRAWN = frozenset({Consent.OPTED_OUT, Consent.BOUNCED})


def resolve_consent(
    current: str | None,
    current_at: datetime | None,
    incoming: str | None,
    incoming_at: datetime,
) -> str | None:
    """Which consent value survives when both systems changed it.

    An explicit value beats "not specified", and a withdrawal (opt-out,
    bounce) beats a permission (opt-in, pending) whatever the timestamps say:
    records carry no consent-specific time, and an edit to another field
    must not make a subscription look newer than an opt-out. Between two
    values of the same kind the newer one wins. A person who opts back in
    does so in the email platform, where it arrives as a change with no
    dispute and is taken as it is.
    """
    if incoming is None:
        return current
    if current is None:
        return incoming
    if is_explicit(current) != is_explicit(incoming):
        return current if is_explicit(current) else incoming
    if (current in _WITHDRAWN) != (incoming in _WITHDRAWN):
        return current if current in _WITHDRAWN else incoming
    if current_at is None or incoming_at > current_at:
        return incoming
    return current


def is_explicit(value: str | None) -> bool:
    return value in _EXPLICIT


def lifts_withdrawal(current: str | None, desired: str | None) -> bool:
    """Would writing `desired` over `current` turn back an opt-out or a bounce?

    Baton only ever propagates withdrawals: a person opts back in themselves, in the
    system they opt in to, and no other system is told to resubscribe them.
    """
    return current in _WITHDRAWN and desired not in _WITHDRAWN
