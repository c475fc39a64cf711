"""Identity rules that need no state: how an address compares across systems,
and when a contact's new address is carried to a system that still files the
record under its old one.

Contacts are matched by normalized email (trimmed, lower-cased). A system's
record keeps the address it has until the contact's address changes in
another system; then Baton moves that record to the new address, unless the
system will not change it (a Mailchimp member that unsubscribed or bounced
keeps the address it withdrew from).
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.contract import FieldValue, SystemRules
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
