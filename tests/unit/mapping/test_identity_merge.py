"""Collapsing two contacts a system merged: who survives, and what consent it keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from mapping.identity import absorb, survivor
from mapping.merge import FieldState

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_contact_holding_the_records_address_survives() -> None:
    assert survivor([(1, "a@x.org"), (2, "b@x.org")], "b@x.org") == 2


def test_without_the_address_the_first_contact_survives() -> None:
    assert survivor([(1, "a@x.org"), (2, "b@x.org")], "c@x.org") == 1


def test_the_survivors_values_win_and_the_others_fill_its_gaps() -> None:
    kept = {"first_name": FieldState("Ana", "hubspot", AT), "phone": FieldState(None)}
    gone = {
        "first_name": FieldState("Anna", "mailchimp", AT),
        "phone": FieldState("+14155550100", "mailchimp", AT),
        "company": FieldState("Clinic", "hubspot", AT),
    }
    state = absorb(kept, gone)
    assert state["first_name"].value == "Ana"
    assert state["phone"].value == "+14155550100"
    assert state["company"].value == "Clinic"


def test_an_opt_out_on_either_contact_is_the_survivors() -> None:
    for withdrawn in ("opted_out", "bounced"):
        kept = {"email_consent": FieldState("opted_in", "hubspot", AT)}
        gone = {"email_consent": FieldState(withdrawn, "mailchimp", AT)}
        assert absorb(kept, gone)["email_consent"].value == withdrawn
    kept = {"email_consent": FieldState("opted_out", "hubspot", AT)}
    gone = {"email_consent": FieldState("opted_in", "mailchimp", AT)}
    assert absorb(kept, gone)["email_consent"].value == "opted_out"


def test_a_permission_is_never_carried_over() -> None:
    for permission in ("opted_in", "pending"):
        kept = {"email_consent": FieldState("not_specified", "hubspot", AT)}
        gone = {"email_consent": FieldState(permission, "mailchimp", AT)}
        assert absorb(kept, gone)["email_consent"].value == "not_specified"
    assert "email_consent" not in absorb({}, {"email_consent": FieldState("opted_in")})
