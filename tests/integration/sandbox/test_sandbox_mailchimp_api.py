"""Mailchimp-style API over real HTTP: auth, paging, writes, compliance, batch subscribe."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx

from sandbox.server import SandboxServer

MEMBERS = "/lists/a1b2c3d4e5/members"


def _hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def test_auth_basic_bearer_and_failure(sandbox: SandboxServer) -> None:
    base = sandbox.url + "/3.0/ping"
    key = sandbox.config.mailchimp_api_key
    assert httpx.get(base, auth=("u", key)).json() == {"health_status": "Everything's Chimpy!"}
    assert httpx.get(base, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    bad = httpx.get(base, auth=("u", "wrong"))
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["instance"] == bad.headers["X-Request-Id"]


def test_offset_paging_and_fields(mailchimp: httpx.Client) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        body = mailchimp.get(
            MEMBERS,
            params={
                "count": 25,
                "offset": offset,
                "sort_field": "last_changed",
                "sort_dir": "ASC",
                "fields": "members.id,members.last_changed,total_items",
            },
        ).json()
        assert set(body) == {"members", "total_items"}
        seen.extend(m["id"] for m in body["members"])
        offset += 25
        if offset >= body["total_items"]:
            break
    assert len(seen) == len(set(seen)) == 70
    assert mailchimp.get(MEMBERS, params={"count": 1001}).status_code == 400
    assert mailchimp.get("/lists/nope/members").status_code == 404


def test_since_last_changed_filters(mailchimp: httpx.Client) -> None:
    everyone = mailchimp.get(MEMBERS, params={"count": 1000, "sort_field": "last_changed"})
    members = everyone.json()["members"]
    middle = members[len(members) // 2]["last_changed"]
    newer = mailchimp.get(MEMBERS, params={"count": 1000, "since_last_changed": middle}).json()
    assert newer["total_items"] >= len(members) - len(members) // 2
    assert all(m["last_changed"] >= middle for m in newer["members"])


def test_put_patch_delete_and_no_op(mailchimp: httpx.Client, control: httpx.Client) -> None:
    email = "Jordan.Blake@CedarClinic.org"
    put = mailchimp.put(
        f"{MEMBERS}/{_hash(email)}",
        json={
            "email_address": email,
            "status_if_new": "subscribed",
            "merge_fields": {"FNAME": "Jordan", "SERVICE": "Cardiology"},
        },
    )
    assert put.status_code == 200
    member = put.json()
    assert member["id"] == _hash(email)
    assert member["status"] == "subscribed"
    assert member["last_changed"].endswith("+00:00")
    again = mailchimp.patch(f"{MEMBERS}/{_hash(email)}", json={"merge_fields": {"FNAME": "Jordan"}})
    assert again.json()["last_changed"] == member["last_changed"]
    exists = mailchimp.post(MEMBERS, json={"email_address": email, "status": "subscribed"})
    assert exists.status_code == 400
    assert exists.json()["title"] == "Member Exists"
    assert mailchimp.delete(f"{MEMBERS}/{_hash(email)}").status_code == 204
    archived = mailchimp.get(MEMBERS, params={"status": "archived"}).json()
    assert [m["id"] for m in archived["members"]] == [_hash(email)]
    assert mailchimp.patch(f"{MEMBERS}/{_hash('ghost@x.org')}", json={}).status_code == 404
    stats = control.get("/stats").json()
    assert stats["record_writes"]["mailchimp"][_hash(email)] == 3
    assert stats["write_calls"]["mailchimp"] == 5  # rejected writes count too


def test_invalid_email_and_unknown_merge_field(mailchimp: httpx.Client) -> None:
    bad = mailchimp.post(
        MEMBERS, json={"email_address": "frontdesk@northside-clinic", "status": "subscribed"}
    )
    assert bad.status_code == 400
    assert bad.json()["title"] == "Invalid Resource"
    assert bad.json()["detail"] == (
        "frontdesk@northside-clinic looks fake or invalid, please enter a real email address."
    )
    merge = mailchimp.post(
        MEMBERS,
        json={
            "email_address": "ok@cedarclinic.org",
            "status": "subscribed",
            "merge_fields": {"ZIP": "1"},
        },
    )
    assert merge.json()["errors"][0]["field"] == "ZIP"


def test_compliance_state_on_resubscribe(mailchimp: httpx.Client) -> None:
    body = mailchimp.get(MEMBERS, params={"status": "unsubscribed", "count": 1}).json()
    member = body["members"][0]
    response = mailchimp.patch(f"{MEMBERS}/{member['id']}", json={"status": "subscribed"})
    assert response.status_code == 400
    assert response.json()["title"] == "Member In Compliance State"
    put = mailchimp.put(
        f"{MEMBERS}/{member['id']}",
        json={
            "email_address": member["email_address"],
            "status_if_new": "subscribed",
            "status": "subscribed",
        },
    )
    assert put.json()["title"] == "Member In Compliance State"
    reconfirm = mailchimp.put(
        f"{MEMBERS}/{member['id']}",
        json={
            "email_address": member["email_address"],
            "status_if_new": "pending",
            "status": "pending",
        },
    )
    assert reconfirm.status_code == 200
    assert reconfirm.json()["status"] == "pending"


def test_batch_subscribe_reports_errors(mailchimp: httpx.Client) -> None:
    existing = mailchimp.get(MEMBERS, params={"status": "subscribed", "count": 1}).json()
    taken = existing["members"][0]["email_address"]
    payload: dict[str, Any] = {
        "members": [
            {"email_address": "fresh@lakeviewclinic.org", "status": "subscribed"},
            {"email_address": "nostatus@lakeviewclinic.org"},
            {
                "email_address": taken,
                "status_if_new": "transactional",
                "merge_fields": {"COMPANY": "Cedar Health Partners"},
            },
            {"email_address": "bad@nowhere", "status_if_new": "transactional"},
        ],
        "update_existing": False,
    }
    body = mailchimp.post("/lists/a1b2c3d4e5", json=payload).json()
    assert body["total_created"] == 1
    assert body["error_count"] == 3
    codes = {e["email_address"]: e["error_code"] for e in body["errors"]}
    assert codes[taken] == "ERROR_CONTACT_EXISTS"
    assert codes["nostatus@lakeviewclinic.org"] == "ERROR_GENERIC"
    payload["update_existing"] = True
    payload["members"] = payload["members"][2:3]
    updated = mailchimp.post("/lists/a1b2c3d4e5", json=payload).json()
    assert updated["total_updated"] == 1
    assert updated["updated_members"][0]["merge_fields"]["COMPANY"] == "Cedar Health Partners"
    unchanged = mailchimp.post("/lists/a1b2c3d4e5", json=payload).json()
    assert (
        unchanged["updated_members"][0]["last_changed"]
        == (updated["updated_members"][0]["last_changed"])
    )
    too_big = {"members": [{"email_address": f"p{i}@x.org"} for i in range(501)]}
    assert mailchimp.post("/lists/a1b2c3d4e5", json=too_big).status_code == 400


def test_merge_fields_and_tags(mailchimp: httpx.Client) -> None:
    fields = mailchimp.get("/lists/a1b2c3d4e5/merge-fields").json()
    assert [f["tag"] for f in fields["merge_fields"]] == [
        "FNAME",
        "LNAME",
        "PHONE",
        "COMPANY",
        "JOBTITLE",
        "SERVICE",
        "SOURCE",
        "STAGE",
    ]
    assert mailchimp.get("/lists/a1b2c3d4e5/merge-fields/3").json()["type"] == "phone"
    member = mailchimp.get(MEMBERS, params={"count": 1}).json()["members"][0]
    tags_url = f"{MEMBERS}/{member['id']}/tags"
    posted = mailchimp.post(tags_url, json={"tags": [{"name": "MQL", "status": "active"}]})
    assert posted.status_code == 204
    names = [t["name"] for t in mailchimp.get(tags_url).json()["tags"]]
    assert "MQL" in names


async def test_simultaneous_connection_cap(sandbox: SandboxServer) -> None:
    sandbox.store.reset(sandbox.config.model_copy(update={"mailchimp_max_connections": 1}))
    body = {
        "members": [{"email_address": f"z{j}@x.org", "status": "subscribed"} for j in range(500)],
        "update_existing": True,
    }
    auth = ("any", sandbox.config.mailchimp_api_key)
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=sandbox.url + "/3.0", auth=auth, limits=limits) as c:
        responses = await asyncio.gather(
            *[c.post("/lists/a1b2c3d4e5", json=body) for _ in range(8)]
        )
    codes = [r.status_code for r in responses]
    assert 200 in codes
    assert 429 in codes
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["title"] == "Too Many Requests"
