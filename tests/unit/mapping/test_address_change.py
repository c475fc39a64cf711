"""When a contact's new address is carried to a system's record."""

from __future__ import annotations

from connectors.contract import SystemRules
from connectors.systems import MAILCHIMP
from mapping.identity import address, address_change


def test_a_case_or_whitespace_variant_is_the_same_address() -> None:
    assert address(" Pat.Variant@EXAMPLE.org ") == "pat.variant@example.org"
    shadow = {"email_address": "Pat.Variant@Example.org ", "status": "subscribed"}
    assert address_change("email_address", "pat.variant@example.org", shadow, MAILCHIMP) is None


def test_a_new_address_is_carried_to_a_record_filed_under_the_old_one() -> None:
    shadow = {"email_address": "old@example.org", "status": "subscribed"}
    assert address_change("email_address", "new@example.org", shadow, MAILCHIMP) == (
        "new@example.org"
    )


def test_no_record_yet_or_no_known_address_changes_nothing() -> None:
    assert address_change("email", "new@example.org", None, SystemRules()) is None
    assert address_change("email", "new@example.org", {"firstname": "Ada"}, SystemRules()) is None


def test_a_member_that_withdrew_keeps_its_address() -> None:
    for status in ("unsubscribed", "cleaned", "archived"):
        shadow = {"email_address": "old@example.org", "status": status}
        assert address_change("email_address", "new@example.org", shadow, MAILCHIMP) is None
