"""Mailchimp connector: offset paging, batch subscribe, per-member reads, config."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import respx
from connector_testkit import FAST, MC_KEY, MC_URL

from connectors.contract import ContactConnector, WriteOp
from connectors.errors import ConfigurationError, RequestRejected
from connectors.mailchimp import MailchimpClient, base_url_for_key, subscriber_hash

MEMBERS = "/lists/L1/members"


def member(i: int) -> dict[str, object]:
    return {
        "id": subscriber_hash(f"m{i}@example.org"),
        "email_address": f"m{i}@example.org",
        "status": "subscribed",
        "merge_fields": {"FNAME": f"M{i}", "LNAME": ""},
        "tags": [{"id": 2, "name": "zeta"}, {"id": 1, "name": "alpha"}],
        "last_changed": "2026-01-02T03:04:05+00:00",
    }


def test_subscriber_hash() -> None:
    expected = hashlib.md5(b"someone@example.org").hexdigest()
    assert subscriber_hash("  SomeOne@Example.org ") == expected


def test_dc_from_key() -> None:
    assert base_url_for_key("abc123-us21") == "https://us21.api.mailchimp.com/3.0"
    client = MailchimpClient(None, "abc123-us6", "L1")
    assert client.base_url == "https://us6.api.mailchimp.com/3.0"
    with pytest.raises(ConfigurationError) as info:
        MailchimpClient(None, "nodatacentre", "L1")
    assert "nodatacentre" not in str(info.value)


def test_satisfies_protocol(mailchimp: MailchimpClient) -> None:
    assert isinstance(mailchimp, ContactConnector)
    assert (mailchimp.system, mailchimp.page_size, mailchimp.write_batch_size) == (
        "mailchimp",
        1000,
        500,
    )


@respx.mock(base_url=MC_URL)
async def test_paging_via_total_items(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    # All members share one second (a bulk import): pages advance by offset.
    route = respx_mock.get(MEMBERS).mock(
        side_effect=[
            httpx.Response(
                200, json={"members": [member(i) for i in range(1000)], "total_items": 1500}
            ),
            httpx.Response(
                200, json={"members": [member(i) for i in range(1000, 1500)], "total_items": 1500}
            ),
        ]
    )
    since = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    page = await mailchimp.fetch_page(since, None)
    assert page.next_token == "2026-01-02T03:04:05+00:00|1000"
    params = route.calls[0].request.url.params
    assert params["count"] == "1000"
    assert params["offset"] == "0"
    assert params["sort_field"] == "last_changed"
    assert params["sort_dir"] == "ASC"
    assert params["since_last_changed"] == "2026-01-02T03:04:05+00:00"
    assert "members.merge_fields" in params["fields"]
    assert "total_items" in params["fields"]

    page2 = await mailchimp.fetch_page(since, page.next_token)
    assert route.calls[1].request.url.params["offset"] == "1000"
    assert page2.next_token is None
    assert route.call_count == 2
    assert mailchimp.stats.calls == {"GET /lists/{list_id}/members": 2}

    rec = page2.records[0]
    assert rec.external_id == subscriber_hash("m1000@example.org")
    assert rec.email == "m1000@example.org"
    assert rec.modified_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert rec.fields["merge_fields.FNAME"] == "M1000"
    assert rec.fields["tags"] == ["alpha", "zeta"]
    assert rec.fields["status"] == "subscribed"
    assert route.calls[0].request.headers["Authorization"].startswith("Basic ")


@respx.mock(base_url=MC_URL)
async def test_pages_continue_from_the_newest_timestamp(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    def at(i: int) -> dict[str, object]:
        return {**member(i), "last_changed": f"2026-01-02T03:{i // 60:02d}:{i % 60:02d}+00:00"}

    route = respx_mock.get(MEMBERS).mock(
        side_effect=[
            httpx.Response(
                200, json={"members": [at(i) for i in range(1000)], "total_items": 1500}
            ),
            # Starts again just before the newest second seen: nothing can be skipped.
            httpx.Response(
                200, json={"members": [at(i) for i in range(999, 1500)], "total_items": 501}
            ),
        ]
    )
    page = await mailchimp.fetch_page(None, None)
    assert "since_last_changed" not in route.calls[0].request.url.params
    assert page.next_token == "2026-01-02T03:16:38+00:00|0"
    page2 = await mailchimp.fetch_page(None, page.next_token)
    params = route.calls[1].request.url.params
    assert params["since_last_changed"] == "2026-01-02T03:16:38+00:00"
    assert params["offset"] == "0"
    assert page2.next_token is None


@respx.mock(base_url=MC_URL)
async def test_fetch_without_since(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.get(MEMBERS).mock(
        return_value=httpx.Response(200, json={"members": [], "total_items": 0})
    )
    page = await mailchimp.fetch_page(None, None)
    assert "since_last_changed" not in route.calls[0].request.url.params
    assert page.next_token is None
    assert page.records == []


@respx.mock(base_url=MC_URL)
async def test_batch_subscribe_maps_errors(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.post("/lists/L1").mock(
        return_value=httpx.Response(
            200,
            json={
                "new_members": [member(1)],
                "updated_members": [{**member(2), "email_address": "M2@example.org"}],
                "errors": [
                    {
                        "email_address": "bad@example.org",
                        "error": "looks fake",
                        "error_code": "ERROR_GENERIC",
                        "field": "email_address",
                    }
                ],
                "total_created": 1,
                "total_updated": 1,
                "error_count": 1,
            },
        )
    )
    ops = [
        WriteOp(
            key="a",
            email="m1@example.org",
            fields={"merge_fields.FNAME": "M1", "status": "unsubscribed"},
            external_id=subscriber_hash("m1@example.org"),
        ),
        WriteOp(
            key="b",
            email="m2@example.org",
            fields={"merge_fields.FNAME": "M2"},
            external_id=subscriber_hash("m2@example.org"),
        ),
        WriteOp(key="c", email="bad@example.org", fields={}, external_id="c" * 32),
        WriteOp(key="d", email="lost@example.org", fields={}, external_id="d" * 32),
    ]
    outcomes = {o.key: o for o in await mailchimp.write(ops)}
    assert outcomes["a"].ok
    assert outcomes["b"].ok
    assert outcomes["b"].record is not None
    assert outcomes["b"].record.fields["tags"] == ["alpha", "zeta"]
    failure = outcomes["c"].failure
    assert failure is not None
    assert (failure.message, failure.category, failure.field) == (
        "looks fake",
        "ERROR_GENERIC",
        "email_address",
    )
    assert outcomes["d"].failure is not None
    assert outcomes["d"].failure.message == "not in response"

    body = json.loads(route.calls[0].request.content)
    assert body["update_existing"] is True
    assert body["members"][0] == {
        "merge_fields": {"FNAME": "M1"},
        "status": "unsubscribed",
        "status_if_new": "unsubscribed",
        "email_address": "m1@example.org",
    }
    assert "status" not in body["members"][1]
    assert all(m["status_if_new"] for m in body["members"])


@respx.mock(base_url=MC_URL)
async def test_batch_subscribe_bisects_whole_request_400(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        members = json.loads(request.content)["members"]
        if any(m["email_address"] == "bad@example.org" for m in members):
            return httpx.Response(
                400,
                headers={"Content-Type": "application/problem+json", "X-Request-Id": "r1"},
                json={
                    "type": "t",
                    "title": "Invalid Resource",
                    "status": 400,
                    "detail": "The resource submitted could not be validated.",
                    "instance": "i",
                },
            )
        return httpx.Response(200, json={"new_members": members, "errors": []})

    respx_mock.post("/lists/L1").mock(side_effect=handler)
    ops = [WriteOp(key=f"k{i}", email=f"m{i}@example.org", fields={}) for i in range(5)]
    ops.append(WriteOp(key="bad", email="bad@example.org", fields={}))
    outcomes = {o.key: o for o in await mailchimp.write(ops)}
    assert [k for k, o in outcomes.items() if not o.ok] == ["bad"]
    failure = outcomes["bad"].failure
    assert failure is not None
    assert (failure.status, failure.request_id, failure.category) == (400, "r1", "Invalid Resource")


@respx.mock(base_url=MC_URL)
async def test_read_per_member_404_absent(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    respx_mock.get(f"{MEMBERS}/{subscriber_hash('m1@example.org')}").mock(
        return_value=httpx.Response(200, json=member(1))
    )
    respx_mock.get(f"{MEMBERS}/{subscriber_hash('gone@example.org')}").mock(
        return_value=httpx.Response(404, json={"title": "Resource Not Found", "status": 404})
    )
    ops = [
        WriteOp(key="a", email="M1@Example.org", fields={}),
        WriteOp(key="b", email="gone@example.org", fields={}),
    ]
    found = await mailchimp.read(ops)
    assert set(found) == {"a"}
    assert found["a"].email == "m1@example.org"


@respx.mock(base_url=MC_URL)
async def test_read_respects_concurrency_cap(respx_mock: respx.MockRouter) -> None:
    client = MailchimpClient(MC_URL, MC_KEY, "L1", max_connections=3, retry=FAST)
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(404)

    respx_mock.get(url__regex=r".*/members/[0-9a-f]{32}").mock(side_effect=handler)
    ops = [WriteOp(key=str(i), email=f"x{i}@example.org", fields={}) for i in range(12)]
    assert await client.read(ops) == {}
    await client.aclose()
    assert peak == 3


@respx.mock(base_url=MC_URL)
async def test_check_reports_wrong_list(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    respx_mock.get("/ping").mock(
        return_value=httpx.Response(200, json={"health_status": "Everything's Chimpy!"})
    )
    respx_mock.get("/lists/L1/merge-fields").mock(
        return_value=httpx.Response(
            404,
            json={
                "title": "Resource Not Found",
                "status": 404,
                "detail": "The requested resource could not be found.",
                "instance": "i",
            },
        )
    )
    with pytest.raises(RequestRejected) as info:
        await mailchimp.check()
    assert "'L1'" in str(info.value)


@respx.mock(base_url=MC_URL)
async def test_list_merge_fields(respx_mock: respx.MockRouter, mailchimp: MailchimpClient) -> None:
    respx_mock.get("/lists/L1/merge-fields").mock(
        return_value=httpx.Response(
            200, json={"merge_fields": [{"tag": "FNAME"}, {"tag": "LNAME"}], "total_items": 2}
        )
    )
    assert [f["tag"] for f in await mailchimp.list_merge_fields()] == ["FNAME", "LNAME"]


@respx.mock(base_url=MC_URL)
async def test_creates_never_overwrite_an_existing_member(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.post("/lists/L1").mock(
        return_value=httpx.Response(
            200,
            json={
                "new_members": [],
                "updated_members": [],
                "errors": [
                    {
                        "email_address": "m1@example.org",
                        "error": "m1@example.org is already a list member",
                        "error_code": "ERROR_CONTACT_EXISTS",
                    }
                ],
            },
        )
    )
    [outcome] = await mailchimp.write(
        [WriteOp(key="a", email="m1@example.org", fields={"status": "transactional"})]
    )
    assert json.loads(route.calls[0].request.content)["update_existing"] is False
    assert outcome.failure is not None
    assert outcome.failure.category == "ERROR_CONTACT_EXISTS"


@respx.mock(base_url=MC_URL)
async def test_updates_send_status_only_to_withdraw(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.post("/lists/L1").mock(
        return_value=httpx.Response(200, json={"new_members": [], "updated_members": []})
    )
    ops = [
        WriteOp(key="up", email="a@example.org", fields={"status": "subscribed"}, external_id="a"),
        WriteOp(key="blank", email="b@example.org", fields={"status": ""}, external_id="b"),
    ]
    outcomes = {o.key: o for o in await mailchimp.write(ops)}
    refused = outcomes["up"].failure
    assert refused is not None
    assert (refused.category, refused.field) == ("STATUS_REFUSED", "status")
    [sent] = json.loads(route.calls[0].request.content)["members"]
    assert sent == {"email_address": "b@example.org", "status_if_new": "transactional"}


@respx.mock(base_url=MC_URL)
async def test_creates_carry_status_if_new_not_status(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.post("/lists/L1").mock(
        return_value=httpx.Response(200, json={"new_members": [], "updated_members": []})
    )
    await mailchimp.write([WriteOp(key="n", email="n@example.org", fields={"status": "pending"})])
    [sent] = json.loads(route.calls[0].request.content)["members"]
    assert sent == {"email_address": "n@example.org", "status_if_new": "pending"}


@respx.mock(base_url=MC_URL)
async def test_batch_error_names_field(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    error = {
        "email_address": "a@example.org",
        "error": "Your merge fields were invalid.",
        "error_code": "ERROR_GENERIC",
        "field": "SERVICE",
        "field_message": "'X' is not one of the field's choices",
    }
    respx_mock.post("/lists/L1").mock(return_value=httpx.Response(200, json={"errors": [error]}))
    [outcome] = await mailchimp.write(
        [WriteOp(key="a", email="a@example.org", fields={}, external_id="a")]
    )
    assert outcome.failure is not None
    assert outcome.failure.message == (
        "Your merge fields were invalid. (SERVICE: 'X' is not one of the field's choices)"
    )
