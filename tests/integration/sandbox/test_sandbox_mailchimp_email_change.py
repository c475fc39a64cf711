"""Mailchimp-style email changes over real HTTP: PATCH moves the member, keeping its history."""

from __future__ import annotations

import hashlib

import httpx

MEMBERS = "/lists/a1b2c3d4e5/members"


def _hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def _add(mailchimp: httpx.Client, email: str, status: str) -> dict[str, object]:
    response = mailchimp.post(
        MEMBERS,
        json={"email_address": email, "status": status, "merge_fields": {"FNAME": "Ada"}},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_patch_changes_the_address_and_keeps_the_member(mailchimp: httpx.Client) -> None:
    before = _add(mailchimp, "ada.old@example.org", "subscribed")
    response = mailchimp.patch(
        f"{MEMBERS}/{_hash('ada.old@example.org')}", json={"email_address": "Ada.New@example.org"}
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["email_address"] == "Ada.New@example.org"
    # The id is the hash of the address; the contact record's ids stay.
    assert after["id"] == _hash("ada.new@example.org")
    assert after["contact_id"] == before["contact_id"]
    assert after["web_id"] == before["web_id"]
    assert after["status"] == "subscribed"
    assert after["merge_fields"]["FNAME"] == "Ada"
    assert after["timestamp_signup"] == before["timestamp_signup"]
    assert mailchimp.get(f"{MEMBERS}/{_hash('ada.old@example.org')}").status_code == 404
    assert mailchimp.get(f"{MEMBERS}/{after['id']}").json()["contact_id"] == before["contact_id"]


def test_an_address_already_on_the_list_is_refused(mailchimp: httpx.Client) -> None:
    _add(mailchimp, "one@example.org", "subscribed")
    _add(mailchimp, "two@example.org", "subscribed")
    response = mailchimp.patch(
        f"{MEMBERS}/{_hash('one@example.org')}", json={"email_address": "TWO@example.org"}
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Member Exists"
    assert mailchimp.get(f"{MEMBERS}/{_hash('one@example.org')}").status_code == 200


def test_an_unsubscribed_or_archived_member_keeps_its_address(mailchimp: httpx.Client) -> None:
    _add(mailchimp, "gone@example.org", "unsubscribed")
    _add(mailchimp, "away@example.org", "subscribed")
    assert mailchimp.delete(f"{MEMBERS}/{_hash('away@example.org')}").status_code == 204
    for old in ("gone@example.org", "away@example.org"):
        response = mailchimp.patch(f"{MEMBERS}/{_hash(old)}", json={"email_address": "new." + old})
        assert response.status_code == 400, old
        assert response.json()["title"] == "Member In Compliance State"
        assert mailchimp.get(f"{MEMBERS}/{_hash('new.' + old)}").status_code == 404


def test_put_never_moves_an_address(mailchimp: httpx.Client) -> None:
    _add(mailchimp, "stay@example.org", "subscribed")
    put = mailchimp.put(
        f"{MEMBERS}/{_hash('stay@example.org')}",
        json={"email_address": "moved@example.org", "status_if_new": "subscribed"},
    )
    assert put.status_code == 400
    assert mailchimp.get(f"{MEMBERS}/{_hash('moved@example.org')}").status_code == 404
