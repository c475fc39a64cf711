"""Mailchimp-style member status rules over real HTTP: status / status_if_new on every
write, compliance states, dropdown choices, archived members."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from sandbox.config import Preset, SandboxConfig
from sandbox.server import SandboxServer

LIST = "/lists/a1b2c3d4e5"
MEMBERS = LIST + "/members"


def _hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def _one(mailchimp: httpx.Client, status: str) -> dict[str, Any]:
    member: dict[str, Any] = mailchimp.get(MEMBERS, params={"status": status, "count": 1}).json()[
        "members"
    ][0]
    return member


def _batch(mailchimp: httpx.Client, *members: dict[str, Any], **extra: Any) -> httpx.Response:
    return mailchimp.post(LIST, json={"members": list(members), "update_existing": True, **extra})


def test_batch_update_without_any_status_is_that_members_error(mailchimp: httpx.Client) -> None:
    member = _one(mailchimp, "subscribed")
    body = _batch(
        mailchimp, {"email_address": member["email_address"], "merge_fields": {"FNAME": "X"}}
    ).json()
    assert body["total_updated"] == 0
    [error] = body["errors"]
    assert error["error_code"] == "ERROR_GENERIC"
    assert (error["field"], error["field_message"]) == ("status", "This value should not be blank.")
    again = mailchimp.get(f"{MEMBERS}/{member['id']}").json()
    assert again["merge_fields"]["FNAME"] == member["merge_fields"]["FNAME"]


def test_batch_empty_status_refuses_the_whole_request(mailchimp: httpx.Client) -> None:
    response = _batch(
        mailchimp,
        {"email_address": "ok@lakeviewclinic.org", "status_if_new": "transactional"},
        {"email_address": "empty@lakeviewclinic.org", "status": ""},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["title"] == "Invalid Resource"
    assert problem["errors"][0]["field"] == "members.item:1.status"
    assert "not one of the accepted values" in problem["errors"][0]["message"]
    missing = mailchimp.get(f"{MEMBERS}/{_hash('ok@lakeviewclinic.org')}")
    assert missing.status_code == 404  # nothing of a refused request is applied


def test_status_if_new_leaves_an_existing_members_status(mailchimp: httpx.Client) -> None:
    member = _one(mailchimp, "unsubscribed")
    body = _batch(
        mailchimp,
        {
            "email_address": member["email_address"],
            "status_if_new": "subscribed",
            "merge_fields": {"COMPANY": "Lakeview Clinic"},
        },
        {"email_address": "new@lakeviewclinic.org", "status_if_new": "pending"},
    ).json()
    assert body["errors"] == []
    assert [m["status"] for m in body["updated_members"]] == ["unsubscribed"]
    assert [m["status"] for m in body["new_members"]] == ["pending"]


def test_compliance_state_allows_only_reconfirmation(mailchimp: httpx.Client) -> None:
    gone = _one(mailchimp, "unsubscribed")
    bounced = _one(mailchimp, "cleaned")
    body = _batch(
        mailchimp,
        {"email_address": gone["email_address"], "status": "subscribed"},
        {"email_address": bounced["email_address"], "status": "transactional"},
    ).json()
    assert body["total_updated"] == 0
    assert {e["email_address"] for e in body["errors"]} == {
        gone["email_address"],
        bounced["email_address"],
    }
    assert all(e["error"].startswith("Member In Compliance State") for e in body["errors"])
    patched = mailchimp.patch(f"{MEMBERS}/{bounced['id']}", json={"status": "subscribed"})
    assert patched.json()["title"] == "Member In Compliance State"
    ok = _batch(mailchimp, {"email_address": gone["email_address"], "status": "pending"}).json()
    assert [m["status"] for m in ok["updated_members"]] == ["pending"]


def test_dropdown_accepts_only_its_choices(sandbox: SandboxServer, mailchimp: httpx.Client) -> None:
    sandbox.store.reset(SandboxConfig(preset=Preset.CUSTOMISED))
    fields = mailchimp.get(LIST + "/merge-fields").json()["merge_fields"]
    service = next(f for f in fields if f["tag"] == "SERVICE")
    assert service["type"] == "dropdown"
    assert "Cardiology" in service["options"]["choices"]
    body = _batch(
        mailchimp,
        {
            "email_address": "a@lakeviewclinic.org",
            "status_if_new": "transactional",
            "merge_fields": {"SERVICE": "Podiatry"},
        },
        {
            "email_address": "b@lakeviewclinic.org",
            "status_if_new": "transactional",
            "merge_fields": {"SERVICE": "Cardiology"},
        },
    ).json()
    assert [m["email_address"] for m in body["new_members"]] == ["b@lakeviewclinic.org"]
    [error] = body["errors"]
    assert (error["email_address"], error["field"]) == ("a@lakeviewclinic.org", "SERVICE")
    member = _one(mailchimp, "subscribed")
    patched = mailchimp.patch(
        f"{MEMBERS}/{member['id']}", json={"merge_fields": {"SOURCE": "Billboard"}}
    )
    assert patched.status_code == 400
    assert patched.json()["errors"][0]["field"] == "SOURCE"


def test_batch_duplicates_size_and_update_existing(mailchimp: httpx.Client) -> None:
    twice = {"email_address": "twice@lakeviewclinic.org", "status_if_new": "transactional"}
    body = _batch(mailchimp, twice, {**twice, "email_address": "Twice@LakeviewClinic.org"}).json()
    assert (body["total_created"], body["error_count"]) == (1, 1)
    skipped = mailchimp.post(
        LIST,
        params={"skip_duplicate_check": "true"},
        json={"members": [twice, twice], "update_existing": True},
    ).json()
    assert (skipped["total_updated"], skipped["error_count"]) == (1, 0)
    exists = mailchimp.post(LIST, json={"members": [twice]}).json()
    assert exists["errors"][0]["error_code"] == "ERROR_CONTACT_EXISTS"
    too_big = [{**twice, "email_address": f"p{i}@x.org"} for i in range(501)]
    assert _batch(mailchimp, *too_big).status_code == 400


def test_single_member_writes_check_status(mailchimp: httpx.Client) -> None:
    email = "single@lakeviewclinic.org"
    url = f"{MEMBERS}/{_hash(email)}"
    no_if_new = mailchimp.put(url, json={"email_address": email, "status": "subscribed"})
    assert no_if_new.status_code == 400
    assert no_if_new.json()["errors"][0]["field"] == "status_if_new"
    empty = mailchimp.put(url, json={"email_address": email, "status_if_new": ""})
    assert empty.status_code == 400
    assert mailchimp.post(MEMBERS, json={"email_address": email}).status_code == 400
    assert mailchimp.post(MEMBERS, json={"email_address": email, "status": ""}).status_code == 400
    put = mailchimp.put(url, json={"email_address": email, "status_if_new": "transactional"})
    assert put.json()["status"] == "transactional"
    # PATCH's schema has no "transactional".
    assert mailchimp.patch(url, json={"status": "transactional"}).status_code == 400
    assert mailchimp.patch(url, json={"status": None}).status_code == 400
    assert mailchimp.patch(url, json={"status": "unsubscribed"}).json()["status"] == "unsubscribed"


def test_archived_members_are_listed_only_when_asked_and_keep_compliance(
    mailchimp: httpx.Client,
) -> None:
    gone = _one(mailchimp, "unsubscribed")
    before = mailchimp.get(MEMBERS, params={"count": 1}).json()["total_items"]
    assert mailchimp.delete(f"{MEMBERS}/{gone['id']}").status_code == 204
    assert mailchimp.get(MEMBERS, params={"count": 1}).json()["total_items"] == before - 1
    archived = mailchimp.get(MEMBERS, params={"status": "archived"}).json()["members"]
    assert [m["id"] for m in archived] == [gone["id"]]
    assert mailchimp.get(f"{MEMBERS}/{gone['id']}").json()["status"] == "archived"
    readd = {"email_address": gone["email_address"], "status_if_new": "subscribed"}
    refused = mailchimp.put(f"{MEMBERS}/{gone['id']}", json=readd)
    assert refused.json()["title"] == "Member In Compliance State"
    batch = _batch(mailchimp, readd).json()
    assert batch["errors"][0]["error"].startswith("Member In Compliance State")
    back = mailchimp.put(f"{MEMBERS}/{gone['id']}", json={**readd, "status_if_new": "pending"})
    assert back.json()["status"] == "pending"
    assert mailchimp.get(MEMBERS, params={"status": "archived"}).json()["total_items"] == 0
