"""Mailchimp's official Python SDK (mailchimp-marketing 3.0.80) against the sandbox: members
list and paging, member upsert and update, batch subscribe with ``status_if_new``, merge
fields. The SDK hands back the parsed JSON as it came, so the spec check sees every field."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import mailchimp_marketing
import pytest
from mailchimp_marketing.api_client import ApiClientError

from sandbox.server import SandboxConfig
from tests.integration.sdk.conftest import Traffic


def _hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def _problem(exc: ApiClientError) -> dict[str, Any]:
    """Mailchimp errors are application/problem+json, which the SDK leaves as text."""
    text = exc.text if isinstance(exc.text, str) else json.dumps(exc.text)
    body: dict[str, Any] = json.loads(text)
    return body


@pytest.fixture
def list_id(sandbox_config: SandboxConfig) -> str:
    return sandbox_config.list_id


def _every_member(mc: mailchimp_marketing.Client, list_id: str, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    while True:
        page = mc.lists.get_list_members_info(list_id, count=3, offset=len(out), **kwargs)
        out.extend(page["members"])
        if not page["members"] or len(out) >= page["total_items"]:
            return out


def test_members_page_by_count_and_offset_with_fields(
    mc: mailchimp_marketing.Client, list_id: str, traffic: Traffic
) -> None:
    assert mc.ping.get() == {"health_status": "Everything's Chimpy!"}
    members = _every_member(mc, list_id)
    first = mc.lists.get_list_members_info(list_id, count=1)
    assert len(members) == first["total_items"] == len({m["id"] for m in members})
    assert all(m["id"] == _hash(m["email_address"]) for m in members)
    subscribed = _every_member(mc, list_id, status="subscribed")
    assert {m["id"] for m in subscribed} == {
        m["id"] for m in members if m["status"] == "subscribed"
    }
    slim = mc.lists.get_list_members_info(
        list_id, count=2, fields=["members.email_address", "members.status", "total_items"]
    )
    assert set(slim) == {"members", "total_items"}
    assert all(set(m) == {"email_address", "status"} for m in slim["members"])
    one = mc.lists.get_list_member(list_id, members[0]["id"])
    assert one["email_address"] == members[0]["email_address"]
    assert "GET /3.0/lists/{list_id}/members/{subscriber_hash}" in traffic.clean().operations


def test_member_upsert_and_update(
    mc: mailchimp_marketing.Client, list_id: str, traffic: Traffic
) -> None:
    email = "ines.new@clinic.example"
    created = mc.lists.set_list_member(
        list_id,
        _hash(email),
        {"email_address": email, "status_if_new": "subscribed", "merge_fields": {"FNAME": "Ines"}},
    )
    assert created["status"] == "subscribed" and created["merge_fields"]["FNAME"] == "Ines"
    # status_if_new only applies to a new member: the existing one keeps its status.
    again = mc.lists.set_list_member(
        list_id,
        _hash(email),
        {"email_address": email, "status_if_new": "pending", "merge_fields": {"LNAME": "Ruiz"}},
    )
    assert again["status"] == "subscribed" and again["full_name"] == "Ines Ruiz"
    patched = mc.lists.update_list_member(
        list_id, _hash(email), {"merge_fields": {"COMPANY": "Harbor Health"}}
    )
    assert patched["merge_fields"]["COMPANY"] == "Harbor Health"
    assert patched["merge_fields"]["FNAME"] == "Ines"
    assert patched["last_changed"] >= created["last_changed"]

    withdrawn = mc.lists.update_list_member(list_id, _hash(email), {"status": "unsubscribed"})
    assert withdrawn["status"] == "unsubscribed"
    with pytest.raises(ApiClientError) as back:
        mc.lists.update_list_member(list_id, _hash(email), {"status": "subscribed"})
    assert back.value.status_code == 400
    assert _problem(back.value)["title"] == "Member In Compliance State"
    with pytest.raises(ApiClientError) as missing:
        mc.lists.get_list_member(list_id, _hash("nobody@clinic.example"))
    assert missing.value.status_code == 404
    ops = traffic.clean().operations
    assert {
        "PUT /3.0/lists/{list_id}/members/{subscriber_hash}",
        "PATCH /3.0/lists/{list_id}/members/{subscriber_hash}",
    } <= ops


def test_member_upsert_without_status_if_new_is_refused(
    mc: mailchimp_marketing.Client, list_id: str, traffic: Traffic
) -> None:
    email = "no.status@clinic.example"
    with pytest.raises(ApiClientError) as refused:
        mc.lists.set_list_member(list_id, _hash(email), {"email_address": email})
    assert refused.value.status_code == 400
    traffic.refused()


def test_batch_subscribe_with_status_if_new(
    mc: mailchimp_marketing.Client, list_id: str, traffic: Traffic
) -> None:
    existing = next(m for m in _every_member(mc, list_id) if m["status"] == "subscribed")
    mc.lists.update_list_member(list_id, existing["id"], {"status": "unsubscribed"})
    answer = mc.lists.batch_list_members(
        list_id,
        {
            "members": [
                {"email_address": "new.one@clinic.example", "status_if_new": "subscribed"},
                {
                    "email_address": existing["email_address"],
                    "status_if_new": "subscribed",
                    "merge_fields": {"COMPANY": "Northside"},
                },
            ],
            "update_existing": True,
        },
    )
    assert answer["error_count"] == 0
    assert [m["email_address"] for m in answer["new_members"]] == ["new.one@clinic.example"]
    (updated,) = answer["updated_members"]
    # An unsubscribed member stays unsubscribed: status_if_new never resubscribes.
    assert updated["status"] == "unsubscribed"
    assert updated["merge_fields"]["COMPANY"] == "Northside"
    assert answer["total_created"] == 1 and answer["total_updated"] == 1

    resubscribe = mc.lists.batch_list_members(
        list_id,
        {
            "members": [{"email_address": existing["email_address"], "status": "subscribed"}],
            "update_existing": True,
        },
    )
    assert resubscribe["error_count"] == 1 and resubscribe["updated_members"] == []
    assert mc.lists.get_list_member(list_id, existing["id"])["status"] == "unsubscribed"
    assert "POST /3.0/lists/{list_id}" in traffic.clean().operations


def test_batch_member_without_a_status_fails_alone(
    mc: mailchimp_marketing.Client, list_id: str, traffic: Traffic
) -> None:
    answer = mc.lists.batch_list_members(
        list_id,
        {
            "members": [
                {"email_address": "bare@clinic.example"},
                {"email_address": "good@clinic.example", "status_if_new": "subscribed"},
            ],
            "update_existing": True,
        },
    )
    assert [e["email_address"] for e in answer["errors"]] == ["bare@clinic.example"]
    assert answer["errors"][0]["field"] == "status"
    assert [m["email_address"] for m in answer["new_members"]] == ["good@clinic.example"]
    traffic.refused()
    with pytest.raises(ApiClientError) as empty:
        mc.lists.batch_list_members(
            list_id,
            {"members": [{"email_address": "blank@clinic.example", "status": ""}]},
        )
    assert empty.value.status_code == 400
    traffic.refused()


def test_merge_fields_list_add_and_dropdown_choices(
    mc: mailchimp_marketing.Client, list_id: str, traffic: Traffic
) -> None:
    fields = mc.lists.get_list_merge_fields(list_id, count=100)
    tags = [f["tag"] for f in fields["merge_fields"]]
    assert {"FNAME", "LNAME"} <= set(tags) and fields["total_items"] == len(tags)
    paged = mc.lists.get_list_merge_fields(list_id, count=1, offset=1)
    assert [f["tag"] for f in paged["merge_fields"]] == tags[1:2]

    added = mc.lists.add_list_merge_field(
        list_id,
        {"tag": "CLINIC", "name": "Clinic", "type": "dropdown", "options": {"choices": ["A", "B"]}},
    )
    assert added["tag"] == "CLINIC" and added["options"]["choices"] == ["A", "B"]
    listed = mc.lists.get_list_merge_fields(list_id, count=100)["merge_fields"]
    assert "CLINIC" in {f["tag"] for f in listed}
    email = "dropdown@clinic.example"
    answer = mc.lists.batch_list_members(
        list_id,
        {
            "members": [
                {
                    "email_address": email,
                    "status_if_new": "subscribed",
                    "merge_fields": {"CLINIC": "C"},
                }
            ]
        },
    )
    assert answer["error_count"] == 1 and answer["errors"][0]["field"] == "CLINIC"
    member = mc.lists.set_list_member(
        list_id,
        _hash(email),
        {"email_address": email, "status_if_new": "subscribed", "merge_fields": {"CLINIC": "B"}},
    )
    assert member["merge_fields"]["CLINIC"] == "B"
    with pytest.raises(ApiClientError) as bad:
        mc.lists.update_list_member(list_id, _hash(email), {"merge_fields": {"CLINIC": "Z"}})
    assert bad.value.status_code == 400
    assert {
        "GET /3.0/lists/{list_id}/merge-fields",
        "POST /3.0/lists/{list_id}/merge-fields",
    } <= traffic.clean().operations
