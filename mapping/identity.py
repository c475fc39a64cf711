"""Identity rules that need no state: how an address compares across systems,
and when a contact's new address is carried to a system that still files the
record under its old one.

Contacts are matched by normalized email (trimmed, lower-cased). A system's
record keeps the address it has until the contact's address changes in
another system; then Baton moves that record to the new address, unless the
system will not change it (a Mailchimp member that unsubscribed or bounced
keeps the address it withdrew from).

When a system merges two records Baton had linked to two contacts, the
contacts collapse into one: the survivor keeps its values, fills its gaps
from the other, and takes the other's opt-out (an opt-out on either stays an
opt-out on the survivor; a permission is never carried over).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.contract import ConsentMeaning, FieldValue, SystemRules
from mapping.consent import MEANING
from mapping.merge import ContactState, FieldState
from mapping.schema import CONSENT_FIELD
from mapping.translate import vendor_text


def address(value: FieldValue) -> str | None:
    """An address in the form contacts are matched by."""
    text = vendor_text(value)
    return text.strip().lower() if text is not None else None


def address_change(
    field: str,
    email: str,
    shadow: Mapping[str, FieldValue] | None,
    rules: SystemRules,
) -> str | None:
    """The address to write to a system's `field` (its identity field), or None.

    `shadow` is what Baton last synced with that system's record (None: no
    record yet, which is created under `email` anyway). A case or whitespace
    variant of `email` is the same address and is left as it is.
    """
    if shadow is None or field not in shadow:
        return None
    if address(shadow.get(field)) == email or rules.address_locked(shadow):
        return None
    return email


def survivor(candidates: Sequence[tuple[int, str]], email: str) -> int:
    """Of the contacts (id, email) a merged record was linked to, the one it stays:
    the one holding the record's address, else the first (the merge's primary)."""
    for contact_id, address_ in candidates:
        if address_ == email:
            return contact_id
    return candidates[0][0]


def absorb(kept: ContactState, absorbed: ContactState) -> ContactState:
    """`kept` after a merge folded `absorbed` into it: its own values win, the other's
    fill its gaps, and a withdrawal of consent on either is the survivor's."""
    state = dict(kept)
    for name, incoming in absorbed.items():
        if name == CONSENT_FIELD:
            continue
        if incoming.value not in (None, "") and state.get(name, FieldState(None)).value in (
            None,
            "",
        ):
            state[name] = incoming
    theirs = absorbed.get(CONSENT_FIELD)
    if (
        theirs is not None
        and _withdrawn(theirs.value)
        and not _withdrawn(state.get(CONSENT_FIELD, FieldState(None)).value)
    ):
        state[CONSENT_FIELD] = theirs
    return state


_WITHDRAWN = frozenset(c.value for c, m in MEANING.items() if m is ConsentMeaning.WITHDRAWN)


def _withdrawn(value: str | None) -> bool:
    return value in _WITHDRAWN
