"""HubSpot-style API over real HTTP: auth, paging, search, batches, rate limits."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from sandbox.server import SandboxServer
from tests.integration.sandbox.searching import search_body

CONTACTS = "/crm/v3/objects/contacts"


def test_missing_token_is_401(sandbox: SandboxServer) -> None:
    response = httpx.get(sandbox.url + CONTACTS, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    uuid.UUID(body["correlationId"])
    assert response.headers["X-HubSpot-Correlation-Id"]


def test_list_paging_walks_every_contact_once(hubspot: httpx.Client) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 25, "properties": "phone,lifecyclestage"}
        if after:
            params["after"] = after
        response = hubspot.get(CONTACTS, params=params)
        assert response.status_code == 200
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        body = response.json()
        seen.extend(r["id"] for r in body["results"])
        assert set(body["results"][0]["properties"]) >= {"email", "hs_object_id", "phone"}
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert len(seen) == len(set(seen)) == 73
    assert hubspot.get(CONTACTS, params={"limit": 101}).status_code == 400


def test_search_keyset_paging_by_object_id(hubspot: httpx.Client) -> None:
    last = "0"
    seen: list[int] = []
    while True:
        response = hubspot.post(
            CONTACTS + "/search",
            json=search_body(
                [{"propertyName": "hs_object_id", "operator": "GT", "value": last}],
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                properties=["lifecyclestage"],
                limit=20,
            ),
        )
        assert response.status_code == 200
        results = response.json()["results"]
        if not results:
            break
        seen.extend(int(r["id"]) for r in results)
        last = results[-1]["id"]
    assert seen == sorted(seen)
    assert len(seen) == 73


def test_search_sorting_email_match_and_limits(hubspot: httpx.Client) -> None:
    response = hubspot.post(
        CONTACTS + "/search", json=search_body(sorts=["-hs_object_id"], limit=3)
    )
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["1073", "1072", "1071"]
    assert body["total"] == 73
    assert body["paging"]["next"]["after"] == "3"
    contact = hubspot.get(CONTACTS + "/1001").json()
    email = contact["properties"]["email"]
    found = hubspot.post(
        CONTACTS + "/search",
        json=search_body(
            [{"propertyName": "email", "operator": "EQ", "value": email.strip().upper()}]
        ),
    ).json()
    assert [r["id"] for r in found["results"]] == ["1001"]
    assert hubspot.post(CONTACTS + "/search", json=search_body(limit=201)).status_code == 400
    capped = hubspot.post(CONTACTS + "/search", json=search_body(after="10000"))
    assert capped.status_code == 400
    assert "10,000" in capped.json()["message"]
    assert capped.json()["category"] == "VALIDATION_ERROR"


def test_create_conflict_and_patch_bumps_only_on_change(hubspot: httpx.Client) -> None:
    created = hubspot.post(
        CONTACTS,
        json={
            "properties": {
                "email": "new.person@cedarclinic.org",
                "firstname": "New",
                "lifecyclestage": "lead",
            }
        },
    )
    assert created.status_code == 201
    cid = created.json()["id"]
    dup = hubspot.post(CONTACTS, json={"properties": {"email": "NEW.person@cedarclinic.org"}})
    assert dup.status_code == 409
    assert dup.json()["message"] == f"Contact already exists. Existing ID: {cid}"
    before = created.json()["properties"]["lastmodifieddate"]
    same = hubspot.patch(f"{CONTACTS}/{cid}", json={"properties": {"firstname": "New"}})
    assert same.json()["properties"]["lastmodifieddate"] == before
    back = hubspot.patch(f"{CONTACTS}/{cid}", json={"properties": {"lifecyclestage": "subscriber"}})
    assert back.status_code == 400
    by_email = hubspot.get(f"{CONTACTS}/new.person@cedarclinic.org", params={"idProperty": "email"})
    assert by_email.json()["id"] == cid


def test_batch_update_partial_failure_is_207(hubspot: httpx.Client, control: httpx.Client) -> None:
    response = hubspot.post(
        CONTACTS + "/batch/update",
        json={
            "inputs": [
                {
                    "id": "1002",
                    "properties": {"jobtitle": "Practice Manager"},
                    "objectWriteTraceId": "a",
                },
                {
                    "id": "1003",
                    "properties": {"service_line": "astrology"},
                    "objectWriteTraceId": "b",
                },
                {"id": "1004", "properties": {"nope": "x"}},
            ]
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert body["numErrors"] == 2
    assert [r["id"] for r in body["results"]] == ["1002"]
    assert body["results"][0]["objectWriteTraceId"] == "a"
    first, second = body["errors"]
    assert first["context"] == {"ids": ["1003"], "objectWriteTraceId": ["b"]}
    assert first["errors"][0] == {
        "message": first["errors"][0]["message"],
        "code": "INVALID_OPTION",
        "in": "service_line",
    }
    assert second["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    stats = control.get("/stats").json()
    assert stats["record_writes"]["hubspot"] == {"1002": 1}
    assert stats["write_calls"]["hubspot"] == 1
    too_many = {"inputs": [{"id": "1001", "properties": {}}] * 101}
    assert hubspot.post(CONTACTS + "/batch/update", json=too_many).status_code == 400


def test_batch_upsert_matches_trimmed_email(hubspot: httpx.Client) -> None:
    existing = hubspot.get(CONTACTS + "/1001").json()["properties"]["email"]
    response = hubspot.post(
        CONTACTS + "/batch/upsert",
        json={
            "inputs": [
                {
                    "id": f"  {existing.lower()} ",
                    "idProperty": "email",
                    "properties": {"phone": "+16175550100"},
                },
                {
                    "id": "brand.new@lakeviewclinic.org",
                    "idProperty": "email",
                    "properties": {"firstname": "Brand"},
                    "objectWriteTraceId": "t9",
                },
                {"id": "frontdesk@northside-clinic", "idProperty": "email", "properties": {}},
            ]
        },
    )
    assert response.status_code == 207
    body = response.json()
    by_new = {r["new"]: r for r in body["results"]}
    assert by_new[False]["id"] == "1001"
    assert by_new[True]["objectWriteTraceId"] == "t9"
    assert body["errors"][0]["context"] == {"emails": ["frontdesk@northside-clinic"]}
    assert body["errors"][0]["errors"][0]["code"] == "INVALID_EMAIL"


def test_batch_read_reports_missing(hubspot: httpx.Client) -> None:
    response = hubspot.post(
        CONTACTS + "/batch/read",
        json={"inputs": [{"id": "1001"}, {"id": "99999"}], "properties": ["company"]},
    )
    assert response.status_code == 207
    body = response.json()
    assert body["results"][0]["properties"]["company"]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"


def test_properties_and_owners(hubspot: httpx.Client) -> None:
    props = {p["name"]: p for p in hubspot.get("/crm/v3/properties/contacts").json()["results"]}
    assert props["createdate"]["modificationMetadata"]["readOnlyValue"] is True
    stage = hubspot.get("/crm/v3/properties/contacts/lifecyclestage").json()
    assert [o["value"] for o in stage["options"]][:3] == [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
    ]
    owners = hubspot.get("/crm/v3/owners", params={"limit": 2}).json()
    assert len(owners["results"]) == 2
    assert owners["results"][0]["type"] == "PERSON"
    assert "paging" in owners


def test_rate_limit_429(sandbox: SandboxServer, hubspot: httpx.Client) -> None:
    sandbox.store.reset(
        sandbox.config.model_copy(update={"hubspot_burst": 3, "hubspot_search_per_second": 2})
    )
    codes = [hubspot.get(CONTACTS + "/1001").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = hubspot.get(CONTACTS + "/1001")
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.json()["errorType"] == "RATE_LIMIT"
    assert int(limited.headers["Retry-After"]) >= 1
    sandbox.store.reset(
        sandbox.config.model_copy(update={"hubspot_burst": 3, "hubspot_search_per_second": 2})
    )
    searches = [hubspot.post(CONTACTS + "/search", json=search_body()) for _ in range(3)]
    assert [r.status_code for r in searches] == [200, 200, 429]
    assert searches[2].json()["policyName"] == "SECONDLY"
    # Each search also counted in the 10-second budget: one slot is left of three.
    assert hubspot.get(CONTACTS + "/1001").status_code == 200
    assert hubspot.get(CONTACTS + "/1001").status_code == 429


def test_repeated_properties_parameters_all_count(hubspot: httpx.Client) -> None:
    params = [("limit", "3"), ("properties", "phone"), ("properties", "company,jobtitle")]
    results = hubspot.get(CONTACTS, params=params).json()["results"]
    assert all({"phone", "company", "jobtitle"} <= set(r["properties"]) for r in results)
    one = hubspot.get(f"{CONTACTS}/{results[0]['id']}", params=params[1:]).json()
    assert {"phone", "company", "jobtitle"} <= set(one["properties"])


def test_archived_takes_a_boolean_in_any_case(hubspot: httpx.Client) -> None:
    assert hubspot.get(CONTACTS, params={"archived": "True"}).status_code == 200
    refused = hubspot.get(CONTACTS, params={"archived": "maybe"})
    assert refused.status_code == 400
    assert "archived" in refused.json()["message"]


def test_batch_errors_carry_errors_and_links(hubspot: httpx.Client) -> None:
    body = hubspot.post(
        f"{CONTACTS}/batch/read", json={"inputs": [{"id": "9999999"}], "properties": []}
    ).json()
    (error,) = body["errors"]
    assert error["errors"] == [] and error["links"] == {}
