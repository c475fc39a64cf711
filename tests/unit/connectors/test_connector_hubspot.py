"""HubSpot connector: search keyset paging, batch writes, batch reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from connector_testkit import HS_TOKEN, HS_URL

from connectors.contract import ContactConnector, WriteOp
from connectors.errors import ServerError
from connectors.hubspot import HubSpotClient
from connectors.hubspot_quota import HubSpotQuota
from connectors.pacing import WindowBudget

SEARCH = "/crm/v3/objects/contacts/search"
UPDATE = "/crm/v3/objects/contacts/batch/update"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
READ = "/crm/v3/objects/contacts/batch/read"


def contact(i: int, modified: str = "2026-01-02T03:04:05.678Z") -> dict[str, object]:
    return {
        "id": str(i),
        "properties": {
            "email": f"p{i}@example.org",
            "firstname": f"P{i}",
            "lastmodifieddate": modified,
            "hs_object_id": str(i),
        },
        "updatedAt": "2020-01-01T00:00:00Z",
    }


def body_of(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def test_satisfies_protocol(hubspot: HubSpotClient) -> None:
    assert isinstance(hubspot, ContactConnector)
    assert (hubspot.system, hubspot.page_size, hubspot.write_batch_size) == ("hubspot", 200, 100)


def test_default_budgets() -> None:
    client = HubSpotClient(HS_URL, HS_TOKEN, properties=["firstname"])
    # The smallest tier until the portal's headers say otherwise; search at 5 per second.
    assert (client.quota.burst.calls, client.quota.burst.period_s) == (100, 10.0)
    assert (client.quota.search.calls, client.quota.search.period_s) == (5, 1.0)
    assert client.properties == ["firstname", "email", "lastmodifieddate", "hs_merged_object_ids"]


@respx.mock(base_url=HS_URL)
async def test_search_body_and_keyset_paging(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    full = {
        "results": [contact(i) for i in range(1, 201)],
        "paging": {"next": {"after": "200"}},
        "total": 250,
    }
    last = {"results": [contact(i) for i in range(201, 251)], "total": 250}
    route = respx_mock.post(SEARCH).mock(
        side_effect=[httpx.Response(200, json=full), httpx.Response(200, json=last)]
    )
    since = datetime(2026, 1, 1, tzinfo=UTC)
    page = await hubspot.fetch_page(since, None)
    assert page.next_token == "200"
    assert len(page.records) == 200
    first_body = body_of(route, 0)
    assert first_body == {
        "after": "0",
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "GTE",
                        "value": "1767225600000",
                    },
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": [
            "firstname",
            "lastname",
            "email",
            "lastmodifieddate",
            "hs_merged_object_ids",
        ],
        "limit": 200,
    }
    assert first_body["after"] == "0"  # keyset paging: every page starts at offset 0

    page2 = await hubspot.fetch_page(since, page.next_token)
    filters = body_of(route, 1)["filterGroups"][0]["filters"]
    assert {"propertyName": "hs_object_id", "operator": "GT", "value": "200"} in filters
    assert page2.next_token is None  # no `paging` → last page, no extra call
    assert route.call_count == 2
    assert hubspot.stats.calls == {f"POST {SEARCH}": 2}

    rec = page2.records[0]
    assert rec.system == "hubspot"
    assert rec.external_id == "201"
    assert rec.email == "p201@example.org"
    assert rec.modified_at == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert rec.fields["firstname"] == "P201"


@respx.mock(base_url=HS_URL)
async def test_search_without_since_and_epoch_ms_dates(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    obj = contact(7, modified="1767225600000")
    obj2 = {"id": "8", "properties": {"email": None}, "updatedAt": "2025-05-05T00:00:00Z"}
    route = respx_mock.post(SEARCH).mock(
        return_value=httpx.Response(200, json={"results": [obj, obj2]})
    )
    page = await hubspot.fetch_page(None, None)
    assert body_of(route)["filterGroups"] == []
    assert page.records[0].modified_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert page.records[1].modified_at == datetime(2025, 5, 5, tzinfo=UTC)
    assert page.records[1].email is None
    assert page.next_token is None


@respx.mock(base_url=HS_URL)
async def test_search_passes_search_budget(respx_mock: respx.MockRouter) -> None:
    calls = []

    class Spy(WindowBudget):
        async def acquire(self) -> None:
            calls.append(self.calls)

    quota = HubSpotQuota()
    quota.burst, quota.search = Spy(80, 10), Spy(4, 1)
    client = HubSpotClient(HS_URL, HS_TOKEN, properties=[], quota=quota)
    respx_mock.post(SEARCH).mock(return_value=httpx.Response(200, json={"results": []}))
    await client.fetch_page(None, None)
    await client.aclose()
    assert sorted(calls) == [4, 80]


@respx.mock(base_url=HS_URL)
async def test_write_207_partial_batch_mapping(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    ops = [
        WriteOp(key="k1", email="p1@example.org", fields={"firstname": "A"}, external_id="1"),
        WriteOp(key="k2", email="p2@example.org", fields={"firstname": "B"}, external_id="2"),
        WriteOp(key="k3", email="p3@example.org", fields={"firstname": "C"}, external_id="3"),
        WriteOp(key="k4", email="new@example.org", fields={"firstname": None, "flag": True}),
    ]
    ok1 = {**contact(1), "objectWriteTraceId": "k1"}
    update = respx_mock.post(UPDATE).mock(
        return_value=httpx.Response(
            207,
            json={
                "status": "COMPLETE",
                "results": [ok1],
                "numErrors": 1,
                "errors": [
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "context": {"ids": ["2"]},
                        "errors": [{"message": "bad", "in": "firstname"}],
                        "correlationId": "c-207",
                    }
                ],
            },
        )
    )
    upsert = respx_mock.post(UPSERT).mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [
                    {
                        "id": "99",
                        "new": True,
                        "properties": {"email": "new@example.org"},
                        "updatedAt": "2026-01-01T00:00:00Z",
                    }
                ]
            },
        )
    )
    outcomes = {o.key: o for o in await hubspot.write(ops)}
    assert len(outcomes) == 4
    assert outcomes["k1"].ok
    assert outcomes["k1"].record is not None
    assert outcomes["k1"].record.external_id == "1"
    failure = outcomes["k2"].failure
    assert failure is not None
    assert (failure.category, failure.request_id, failure.field) == (
        "VALIDATION_ERROR",
        "c-207",
        "firstname",
    )
    assert outcomes["k3"].failure is not None
    assert outcomes["k3"].failure.message == "not in response"
    assert outcomes["k4"].ok
    assert outcomes["k4"].record is not None
    assert outcomes["k4"].record.external_id == "99"

    assert body_of(update)["inputs"][0] == {
        "id": "1",
        "properties": {"firstname": "A"},
        "objectWriteTraceId": "k1",
    }
    assert body_of(upsert)["inputs"] == [
        {
            "id": "new@example.org",
            "idProperty": "email",
            "properties": {"firstname": "", "flag": "true", "email": "new@example.org"},
            "objectWriteTraceId": "k4",
        }
    ]


@respx.mock(base_url=HS_URL)
async def test_write_bisects_whole_batch_400(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    bad = "bad@example.org"

    def handler(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        if any(i["id"] == bad for i in inputs):
            return httpx.Response(
                400,
                json={
                    "message": "Invalid email",
                    "category": "VALIDATION_ERROR",
                    "correlationId": "c-bad",
                },
            )
        return httpx.Response(
            200,
            json={
                "results": [
                    {
                        "id": str(n),
                        "objectWriteTraceId": i["objectWriteTraceId"],
                        "properties": {"email": i["id"]},
                    }
                    for n, i in enumerate(inputs)
                ]
            },
        )

    route = respx_mock.post(UPSERT).mock(side_effect=handler)
    ops = [WriteOp(key=f"k{i}", email=f"p{i}@example.org", fields={}) for i in range(7)]
    ops.insert(3, WriteOp(key="kbad", email=bad, fields={}))
    outcomes = {o.key: o for o in await hubspot.write(ops)}
    assert len(outcomes) == 8
    assert [k for k, o in outcomes.items() if not o.ok] == ["kbad"]
    failure = outcomes["kbad"].failure
    assert failure is not None
    assert (failure.status, failure.request_id) == (400, "c-bad")
    assert route.call_count <= 1 + 2 * 3  # log2(8) levels at most


@respx.mock(base_url=HS_URL)
async def test_write_chunks_to_100(respx_mock: respx.MockRouter, hubspot: HubSpotClient) -> None:
    route = respx_mock.post(UPDATE).mock(return_value=httpx.Response(200, json={"results": []}))
    ops = [
        WriteOp(key=f"k{i}", email=f"p{i}@x.org", fields={}, external_id=str(i)) for i in range(250)
    ]
    outcomes = await hubspot.write(ops)
    assert [len(json.loads(c.request.content)["inputs"]) for c in route.calls] == [100, 100, 50]
    assert len(outcomes) == 250
    assert all(o.failure and o.failure.message == "not in response" for o in outcomes)


@respx.mock(base_url=HS_URL)
async def test_write_server_error_propagates(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.post(UPDATE).mock(return_value=httpx.Response(503))
    op = WriteOp(key="k", email="a@b.org", fields={}, external_id="1")
    with pytest.raises(ServerError):
        await hubspot.write([op])


@respx.mock(base_url=HS_URL)
async def test_read_by_id_and_email_missing_absent(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("idProperty") == "email":
            assert [i["id"] for i in body["inputs"]] == ["P5@example.org", "none@x.org"]
            return httpx.Response(
                207,
                json={
                    "results": [contact(5)],
                    "errors": [
                        {
                            "category": "OBJECT_NOT_FOUND",
                            "message": "not found",
                            "context": {"ids": ["none@x.org"]},
                        }
                    ],
                },
            )
        assert [i["id"] for i in body["inputs"]] == ["1", "404"]
        return httpx.Response(
            207,
            json={
                "results": [contact(1)],
                "errors": [
                    {
                        "category": "OBJECT_NOT_FOUND",
                        "message": "not found",
                        "context": {"ids": ["404"]},
                    }
                ],
            },
        )

    respx_mock.post(READ).mock(side_effect=handler)
    ops = [
        WriteOp(key="a", email="p1@example.org", fields={}, external_id="1"),
        WriteOp(key="b", email="x@x.org", fields={}, external_id="404"),
        WriteOp(key="c", email="P5@example.org", fields={}),
        WriteOp(key="d", email="none@x.org", fields={}),
    ]
    found = await hubspot.read(ops)
    assert set(found) == {"a", "c"}
    assert found["c"].external_id == "5"


@respx.mock(base_url=HS_URL)
async def test_list_owners_pages(respx_mock: respx.MockRouter, hubspot: HubSpotClient) -> None:
    respx_mock.get("/crm/v3/owners").mock(
        side_effect=[
            httpx.Response(
                200, json={"results": [{"id": "1"}], "paging": {"next": {"after": "1"}}}
            ),
            httpx.Response(200, json={"results": [{"id": "2"}]}),
        ]
    )
    respx_mock.get("/crm/v3/properties/contacts").mock(
        return_value=httpx.Response(200, json={"results": [{"name": "email"}]})
    )
    assert [o["id"] for o in await hubspot.list_owners()] == ["1", "2"]
    assert await hubspot.list_properties() == [{"name": "email"}]
