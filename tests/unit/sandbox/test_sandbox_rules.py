"""Pure-function tests: search filters/sorts, HubSpot property validation, Mailchimp rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.hs_properties import validate_properties
from sandbox.hs_search import SearchError, compile_groups, parse_sorts
from sandbox.mailchimp import trim_fields
from sandbox.mc_state import MailchimpState, McError
from sandbox.records import subscriber_hash
from sandbox.timefmt import epoch_ms, hubspot_iso, mailchimp_iso

PROPS = {
    "email": "Maria.Lopez@LakeviewClinic.org ",
    "hs_object_id": "1042",
    "lifecyclestage": "lead",
    "lastmodifieddate": "2026-11-20T10:00:00.000Z",
    "phone": "",
}


def _match(*filters: dict[str, object]) -> bool:
    return compile_groups([{"filters": list(filters)}])(PROPS)


def test_email_eq_is_case_and_space_insensitive() -> None:
    assert _match(
        {"propertyName": "email", "operator": "EQ", "value": "maria.lopez@lakeviewclinic.org"}
    )


def test_numeric_comparison_for_object_id() -> None:
    assert _match({"propertyName": "hs_object_id", "operator": "GT", "value": "999"})
    assert not _match({"propertyName": "hs_object_id", "operator": "LT", "value": "1000"})
    # The spec types filter values as strings; a JSON number is refused, not coerced.
    with pytest.raises(SearchError, match="string"):
        _match({"propertyName": "hs_object_id", "operator": "LT", "value": 1000})
    assert _match(
        {
            "propertyName": "hs_object_id",
            "operator": "BETWEEN",
            "value": "1000",
            "highValue": "1042",
        }
    )


def test_dates_accept_epoch_ms_and_iso() -> None:
    moment = datetime(2026, 11, 19, tzinfo=UTC)
    assert _match(
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(epoch_ms(moment))}
    )
    assert _match(
        {"propertyName": "lastmodifieddate", "operator": "GT", "value": "2026-11-18T23:00:00Z"}
    )
    assert not _match(
        {"propertyName": "lastmodifieddate", "operator": "GT", "value": "2026-11-21T00:00:00Z"}
    )


def test_in_has_property_and_groups_are_ored() -> None:
    assert _match({"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead", "x"]})
    assert _match({"propertyName": "lifecyclestage", "operator": "NOT_IN", "values": ["customer"]})
    assert not _match({"propertyName": "phone", "operator": "HAS_PROPERTY"})
    assert _match({"propertyName": "company", "operator": "NOT_HAS_PROPERTY"})
    either = compile_groups(
        [
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}
                ]
            },
            {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": "1042"}]},
        ]
    )
    assert either(PROPS)


def test_bad_filters_raise() -> None:
    with pytest.raises(SearchError):
        compile_groups([{"filters": [{"propertyName": "email", "operator": "LIKE", "value": 1}]}])
    with pytest.raises(SearchError):
        compile_groups([{"filters": [{"propertyName": "email", "operator": "IN"}]}])


def test_sorts_accept_both_forms() -> None:
    assert parse_sorts(["-lastmodifieddate", "hs_object_id"]) == [
        ("lastmodifieddate", True),
        ("hs_object_id", False),
    ]
    assert parse_sorts([{"propertyName": "email", "direction": "DESCENDING"}]) == [("email", True)]


def _codes(new: dict[str, object], current: dict[str, str | None] | None = None) -> list[str]:
    return [e.code for e in validate_properties(new, current)]


def test_property_validation_codes() -> None:
    assert _codes({"favourite_colour": "blue"}) == ["PROPERTY_DOESNT_EXIST"]
    assert _codes({"createdate": "x"}) == ["READ_ONLY_VALUE"]
    assert _codes({"service_line": "neurology"}) == ["INVALID_OPTION"]
    assert _codes({"email": "frontdesk@northside-clinic"}) == ["INVALID_EMAIL"]
    assert _codes({"email": "a b@x.org"}) == ["INVALID_EMAIL"]
    assert _codes({"email": " ok@x.org ", "service_line": "", "lifecyclestage": "lead"}) == []


def test_lifecycle_cannot_move_backward_unless_cleared() -> None:
    current: dict[str, str | None] = {"lifecyclestage": "salesqualifiedlead"}
    errors = validate_properties({"lifecyclestage": "lead"}, current)
    assert errors
    assert "backward" in errors[0].message
    assert _codes({"lifecyclestage": ""}, current) == []
    assert _codes({"lifecyclestage": "customer"}, current) == []
    assert _codes({"lifecyclestage": "lead"}, {"lifecyclestage": ""}) == []


def test_time_formats() -> None:
    moment = datetime(2026, 11, 25, 14, 3, 12, 345678, tzinfo=UTC)
    assert hubspot_iso(moment) == "2026-11-25T14:03:12.345Z"
    assert mailchimp_iso(moment) == "2026-11-25T14:03:12+00:00"


def test_subscriber_hash_normalises() -> None:
    assert subscriber_hash(" Maria@X.org ") == subscriber_hash("maria@x.org")


def test_mailchimp_compliance_and_no_op_update() -> None:
    state = MailchimpState()
    member = state.add({"email_address": "a@clinic.org", "status": "unsubscribed"})
    with pytest.raises(McError) as info:
        state.update(member, {"status": "subscribed"})
    assert info.value.title == "Member In Compliance State"
    before = member.last_changed
    assert state.update(member, {"merge_fields": {}}) is False
    assert member.last_changed == before
    with pytest.raises(McError) as bad:
        state.update(member, {"merge_fields": {"NOPE": "x"}})
    assert bad.value.errors[0]["field"] == "NOPE"


def test_mailchimp_upsert_uses_status_if_new() -> None:
    state = MailchimpState()
    member, created = state.upsert(
        "b@clinic.org", {"email_address": "B@Clinic.org", "status_if_new": "pending"}
    )
    assert created
    assert member.status == "pending"
    again, created_again = state.upsert(
        member.id, {"email_address": "b@clinic.org", "status_if_new": "subscribed"}
    )
    assert again is member
    assert not created_again
    assert member.status == "pending"


def test_trim_fields() -> None:
    body = {
        "members": [{"id": "1", "email_address": "a", "status": "x"}],
        "total_items": 1,
        "list_id": "L",
    }
    assert trim_fields(body, "members.id,total_items", None) == {
        "members": [{"id": "1"}],
        "total_items": 1,
    }
    assert trim_fields(body, None, "members.status,list_id") == {
        "members": [{"id": "1", "email_address": "a"}],
        "total_items": 1,
    }
