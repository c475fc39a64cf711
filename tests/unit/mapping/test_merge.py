from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mapping.config import MappingConfig
from mapping.merge import ContactState, FieldState, merge_incoming
from mapping.translate import translate_record

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def merge(
    mapping: MappingConfig,
    system: str,
    fields: dict,
    shadow: dict | None,
    state: ContactState,
    at: datetime = T0,
):
    values = translate_record(mapping, system, fields).values
    return merge_incoming(mapping, system, values, fields, shadow, state, at)


def test_first_record_seeds_the_contact(mapping: MappingConfig) -> None:
    out = merge(mapping, "hubspot", {"email": "a@x.org", "firstname": "Ana"}, None, {})
    assert out.state["first_name"] == FieldState("Ana", "hubspot", T0)
    assert "first_name" in out.changed


def test_unchanged_against_shadow_is_not_a_change(mapping: MappingConfig) -> None:
    fields = {"email": "a@x.org", "firstname": "Ana"}
    state = {"first_name": FieldState("Ana", "hubspot", T0)}
    out = merge(mapping, "hubspot", fields, dict(fields), state, T0 + timedelta(days=1))
    assert out.changed == []
    assert out.state == state


def test_change_on_one_side_is_taken(mapping: MappingConfig) -> None:
    state = {"first_name": FieldState("Ana", "hubspot", T0)}
    shadow = {"merge_fields.FNAME": "Ana"}
    out = merge(
        mapping, "mailchimp", {"merge_fields.FNAME": "Anna"}, shadow, state, T0 + timedelta(hours=1)
    )
    assert out.state["first_name"].value == "Anna"
    assert out.conflicts == []


def test_both_sides_changed_newest_wins(mapping: MappingConfig) -> None:
    # HubSpot changed first_name to "Ann" at T0+1h (not yet delivered to Mailchimp);
    # Mailchimp changed it to "Anna" at T0+2h.
    state = {"first_name": FieldState("Ann", "hubspot", T0 + timedelta(hours=1))}
    shadow = {"merge_fields.FNAME": "Ana"}
    newer = merge(
        mapping, "mailchimp", {"merge_fields.FNAME": "Anna"}, shadow, state, T0 + timedelta(hours=2)
    )
    assert newer.state["first_name"].value == "Anna"
    assert len(newer.conflicts) == 1
    older = merge(
        mapping,
        "mailchimp",
        {"merge_fields.FNAME": "Anna"},
        shadow,
        state,
        T0 + timedelta(minutes=30),
    )
    assert older.state["first_name"].value == "Ann"
    assert older.conflicts[0].dropped == "Anna"


def test_owner_policy_keeps_the_owners_value(mapping: MappingConfig) -> None:
    state = {"service_line": FieldState("cardiology", "hubspot", T0)}
    shadow = {"merge_fields.SERVICE": "Oncology"}
    out = merge(
        mapping,
        "mailchimp",
        {"merge_fields.SERVICE": "Dermatology"},
        shadow,
        state,
        T0 + timedelta(days=3),
    )
    assert out.state["service_line"].value == "cardiology"
    assert out.conflicts and out.conflicts[0].kept_from == "hubspot"


def test_empty_value_never_overwrites(mapping: MappingConfig) -> None:
    state = {"phone": FieldState("+16175550134", "hubspot", T0)}
    out = merge(mapping, "mailchimp", {"merge_fields.PHONE": ""}, None, state)
    assert out.state["phone"].value == "+16175550134"


def test_explicit_opt_out_beats_not_specified(mapping: MappingConfig) -> None:
    state = {"email_consent": FieldState("opted_out", "mailchimp", T0)}
    out = merge(
        mapping, "hubspot", {"hs_email_optout": "false"}, None, state, T0 + timedelta(days=1)
    )
    assert out.state["email_consent"].value == "opted_out"


def test_push_only_binding_is_never_read(mapping: MappingConfig) -> None:
    out = merge(mapping, "mailchimp", {"merge_fields.STAGE": "Customer"}, None, {})
    assert "lifecycle_stage" not in out.state


names = st.text(alphabet="abcdefghij", min_size=1, max_size=8)


@given(first=names, second=names, hours=st.integers(min_value=-48, max_value=48))
def test_merge_is_idempotent(mapping: MappingConfig, first: str, second: str, hours: int) -> None:
    state = {"first_name": FieldState(first, "hubspot", T0)}
    fields = {"merge_fields.FNAME": second}
    at = T0 + timedelta(hours=hours)
    once = merge(mapping, "mailchimp", fields, {"merge_fields.FNAME": "x"}, state, at)
    # Replaying the same record after it was applied (shadow now = the record) changes nothing.
    twice = merge(mapping, "mailchimp", fields, dict(fields), once.state, at)
    assert twice.state == once.state
    assert twice.changed == []


def test_clearing_the_crm_opt_out_does_not_erase_an_email_unsubscribe(
    mapping: MappingConfig,
) -> None:
    # The member unsubscribed in the email platform; Baton told the CRM; a CRM
    # user then unticks the opt-out. The person's own choice stands.
    state = {"email_consent": FieldState("opted_out", "mailchimp", T0)}
    shadow = {"hs_email_optout": "true"}
    out = merge(
        mapping, "hubspot", {"hs_email_optout": "false"}, shadow, state, T0 + timedelta(days=1)
    )
    assert out.state["email_consent"].value == "opted_out"
    assert out.changed == []


def test_first_link_keeps_the_crm_opt_out_over_a_newer_member_edit(
    mapping: MappingConfig,
) -> None:
    # The CRM opted the person out; a second later someone fixed a typo on the
    # still-subscribed member. The member's timestamp says nothing about consent.
    state = {"email_consent": FieldState("opted_out", "hubspot", T0)}
    out = merge(
        mapping, "mailchimp", {"status": "subscribed"}, None, state, T0 + timedelta(seconds=1)
    )
    assert out.state["email_consent"].value == "opted_out"


def test_a_person_opting_back_in_through_the_email_platform_is_taken(
    mapping: MappingConfig,
) -> None:
    state = {"email_consent": FieldState("opted_out", "mailchimp", T0)}
    out = merge(
        mapping,
        "mailchimp",
        {"status": "subscribed"},
        {"status": "unsubscribed"},
        state,
        T0 + timedelta(days=2),
    )
    assert out.state["email_consent"].value == "opted_in"
