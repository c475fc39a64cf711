"""Rate-based faults, the duplicate-write count and search index lag, over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.sandbox.searching import search_body

CONTACTS = "/crm/v3/objects/contacts"
MEMBERS = "/lists/a1b2c3d4e5/members"


def only(control: httpx.Client, kind: str, *, rate: float = 1.0, stall: float = 0.0) -> None:
    body = {"rate": rate, "seed": 1, "kinds": [kind], "stall_seconds": stall}
    assert control.put("/faults/random", json=body).status_code == 200


def update_body(value: str, trace: str = "t-1") -> dict[str, object]:
    return {
        "inputs": [{"id": "1001", "properties": {"jobtitle": value}, "objectWriteTraceId": trace}]
    }


def jobtitle(hubspot: httpx.Client) -> str | None:
    body = hubspot.get(CONTACTS + "/1001", params={"properties": "jobtitle"}).json()
    title: str | None = body["properties"]["jobtitle"]
    return title


def test_throttle_is_a_429_without_retry_after_on_both_apis(
    hubspot: httpx.Client, mailchimp: httpx.Client, control: httpx.Client
) -> None:
    only(control, "throttle")
    crm = hubspot.post(CONTACTS + "/batch/update", json=update_body("CIO"))
    email = mailchimp.get(MEMBERS)
    assert crm.status_code == email.status_code == 429
    assert "retry-after" not in crm.headers and "retry-after" not in email.headers
    assert crm.json()["errorType"] == "RATE_LIMIT"
    assert email.headers["content-type"].startswith("application/problem+json")
    stats = control.get("/stats").json()
    control.delete("/faults")
    assert jobtitle(hubspot) != "CIO"  # a throttled write does nothing
    assert stats["throttled"] == {}  # injected, not the sandbox's own limits
    assert stats["faults"]["mailchimp"] == {"throttle": 1}


def test_bare_403_is_mailchimp_only_and_has_no_json(
    hubspot: httpx.Client, mailchimp: httpx.Client, control: httpx.Client
) -> None:
    only(control, "bare-403")
    refused = mailchimp.get(MEMBERS)
    assert refused.status_code == 403
    assert refused.content == b""
    assert "json" not in refused.headers["content-type"]
    assert hubspot.get(CONTACTS + "/1001").status_code == 200


def test_html_5xx_comes_after_the_write_went_through(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    only(control, "html-5xx")
    response = hubspot.post(CONTACTS + "/batch/update", json=update_body("CIO"))
    assert response.status_code in (502, 503, 504)
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    control.delete("/faults")
    assert jobtitle(hubspot) == "CIO"


def test_truncated_json_is_a_whole_http_answer_with_half_a_body(
    mailchimp: httpx.Client, control: httpx.Client
) -> None:
    only(control, "truncated")
    response = mailchimp.get(MEMBERS, params={"count": 5})
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_reset_breaks_the_connection_mid_body(hubspot: httpx.Client, control: httpx.Client) -> None:
    only(control, "reset")
    with pytest.raises(httpx.RemoteProtocolError):
        hubspot.get(CONTACTS + "/1001")
    with pytest.raises(httpx.RemoteProtocolError):
        hubspot.post(CONTACTS + "/batch/archive", json={"inputs": []})  # a 204 breaks too


def test_stall_outlasts_a_read_timeout_and_the_write_still_lands(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    only(control, "stall", stall=1.0)
    with pytest.raises(httpx.ReadTimeout):
        hubspot.post(CONTACTS + "/batch/update", json=update_body("CIO"), timeout=0.3)
    control.delete("/faults")
    assert jobtitle(hubspot) == "CIO"


def faulted(mailchimp: httpx.Client, control: httpx.Client, seed: int) -> list[int]:
    control.delete("/faults")
    body = {"rate": 0.3, "seed": seed, "kinds": ["throttle", "html-5xx"]}
    control.put("/faults/random", json=body)
    statuses = [mailchimp.get("/ping").status_code for _ in range(60)]
    return [i for i, status in enumerate(statuses) if status != 200]


def test_the_same_seed_faults_the_same_requests(
    mailchimp: httpx.Client, control: httpx.Client
) -> None:
    first = faulted(mailchimp, control, seed=5)
    assert first == faulted(mailchimp, control, seed=5)
    assert first != faulted(mailchimp, control, seed=6)
    assert 6 <= len(first) <= 30  # about 30 % of 60


def test_kinds_and_rate_are_validated(control: httpx.Client) -> None:
    assert control.put("/faults/random", json={"rate": 2}).status_code == 400
    gremlins = {"rate": 0.1, "kinds": ["gremlins"]}
    assert control.put("/faults/random", json=gremlins).status_code == 400
    assert control.put("/search-lag", json={"seconds": -1}).status_code == 400


def test_a_write_applied_twice_counts_as_a_duplicate(
    hubspot: httpx.Client, mailchimp: httpx.Client, control: httpx.Client
) -> None:
    hubspot.post(CONTACTS + "/batch/update", json=update_body("CIO", trace="k1"))
    hubspot.post(CONTACTS + "/batch/update", json=update_body("CTO", trace="k2"))
    assert control.get("/stats").json()["duplicate_writes"] == {"hubspot": 0, "mailchimp": 0}
    hubspot.post(CONTACTS + "/batch/update", json=update_body("CIO", trace="k1"))
    member = {"email_address": "dup@example.org", "status_if_new": "subscribed"}
    for _ in range(2):
        mailchimp.post("/lists/a1b2c3d4e5", json={"members": [member], "update_existing": True})
    assert control.get("/stats").json()["duplicate_writes"] == {"hubspot": 1, "mailchimp": 1}


def search_titles(hubspot: httpx.Client) -> dict[str, str | None]:
    body = search_body(
        [{"propertyName": "hs_object_id", "operator": "LTE", "value": "1001"}],
        limit=200,
        properties=["jobtitle", "email"],
    )
    results = hubspot.post(CONTACTS + "/search", json=body).json()["results"]
    return {r["id"]: r["properties"]["jobtitle"] for r in results}


def test_search_sees_writes_late_and_the_clock_moves_it_on(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    control.post("/reset", json={"hubspot_search_per_second": 0})  # many searches in a row
    before = search_titles(hubspot)["1001"]
    assert control.put("/search-lag", json={"seconds": 3}).status_code == 200
    hubspot.post(CONTACTS + "/batch/update", json=update_body("Chief Lag Officer"))
    created = hubspot.post(CONTACTS, json={"properties": {"email": "late@example.org"}}).json()
    search = search_body([{"propertyName": "email", "operator": "EQ", "value": "late@example.org"}])

    assert jobtitle(hubspot) == "Chief Lag Officer"  # GET reads the record itself
    assert search_titles(hubspot)["1001"] == before  # search answers with the old copy
    assert hubspot.post(CONTACTS + "/search", json=search).json()["total"] == 0
    assert hubspot.get(CONTACTS + "/" + created["id"]).status_code == 200

    control.post("/clock", json={"seconds": 2})
    assert search_titles(hubspot)["1001"] == before
    control.post("/clock", json={"seconds": 1.5})
    assert search_titles(hubspot)["1001"] == "Chief Lag Officer"
    assert hubspot.post(CONTACTS + "/search", json=search).json()["total"] == 1


def test_an_archived_contact_stays_in_search_for_the_lag(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    control.post("/reset", json={"hubspot_search_per_second": 0, "search_lag_seconds": 3})
    assert hubspot.delete(CONTACTS + "/1001").status_code == 204
    assert "1001" in search_titles(hubspot)
    control.post("/clock", json={"seconds": 3.5})
    assert "1001" not in search_titles(hubspot)
