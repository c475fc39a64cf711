"""HubSpot connector: consent goes through Communication Preferences v4, withdrawals only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from connector_testkit import FAST, HS_TOKEN, HS_URL

from connectors.contract import WriteOp
from connectors.hubspot import HubSpotClient
from connectors.hubspot_consent import ConsentSetupError
from connectors.hubspot_quota import HubSpotQuota

UPDATE = "/crm/v3/objects/contacts/batch/update"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
DEFS = "/communication-preferences/v4/definitions"
WRITE = "/communication-preferences/v4/statuses/batch/write"
PROPS = "/crm/v3/properties/contacts"


def definition(
    ident: int, *, default: bool = False, internal: bool = False, active: bool = True
) -> dict[str, Any]:
    return {
        "id": str(ident),
        "name": f"Sub {ident}",
        "description": "",
        "isActive": active,
        "isDefault": default,
        "isInternal": internal,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }


DEFINITIONS = {
    "status": "COMPLETE",
    "results": [definition(11, default=True), definition(12, default=True, internal=True)],
    "startedAt": "x",
    "completedAt": "x",
}


def client(**kw: Any) -> HubSpotClient:
    return HubSpotClient(
        HS_URL,
        HS_TOKEN,
        properties=["firstname", "hs_email_optout"],
        quota=HubSpotQuota.unlimited(),
        retry=FAST,
        **kw,
    )


@pytest.fixture
async def hubspot() -> AsyncIterator[HubSpotClient]:
    hs = client(legal_basis="LEGITIMATE_INTEREST_CLIENT", legal_basis_explanation="why")
    yield hs
    await hs.aclose()


def echo_updates(request: httpx.Request) -> httpx.Response:
    inputs = json.loads(request.content)["inputs"]
    results = [
        {
            "id": i["id"],
            "properties": i["properties"],
            "objectWriteTraceId": i["objectWriteTraceId"],
        }
        for i in inputs
    ]
    return httpx.Response(200, json={"status": "COMPLETE", "results": results})


def unsubscribed(request: httpx.Request) -> httpx.Response:
    inputs = json.loads(request.content)["inputs"]
    results = [
        {**i, "status": i["statusState"], "setStatusSuccessReason": "REQUESTED_CHANGE_OCCURRED"}
        for i in inputs
    ]
    return httpx.Response(200, json={"status": "COMPLETE", "results": results})


@respx.mock(base_url=HS_URL)
async def test_a_withdrawal_goes_through_communication_preferences(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(DEFS).mock(return_value=httpx.Response(200, json=DEFINITIONS))
    update = respx_mock.post(UPDATE).mock(side_effect=echo_updates)
    write = respx_mock.post(WRITE).mock(side_effect=unsubscribed)
    ops = [
        WriteOp("a", "a@x.org", {"firstname": "A", "hs_email_optout": "true"}, "1"),
        WriteOp("b", "b@x.org", {"hs_email_optout": "true"}, "2"),
        WriteOp("c", "c@x.org", {"firstname": "C", "hs_email_optout": "false"}, "3"),
    ]
    outcomes = {o.key: o for o in await hubspot.write(ops)}
    assert all(o.ok for o in outcomes.values())
    sent = json.loads(update.calls[0].request.content)["inputs"]
    assert [i["id"] for i in sent] == ["1", "3"]  # b only withdraws: no property write
    assert all("hs_email_optout" not in i["properties"] for i in sent)
    inputs = json.loads(write.calls[0].request.content)["inputs"]
    assert inputs == [
        {
            "channel": "EMAIL",
            "statusState": "UNSUBSCRIBED",
            "subscriberIdString": email,
            "subscriptionId": 11,
            "legalBasis": "LEGITIMATE_INTEREST_CLIENT",
            "legalBasisExplanation": "why",
        }
        for email in ("a@x.org", "b@x.org")
    ]
    assert outcomes["a"].record is not None
    assert outcomes["a"].record.fields["hs_email_optout"] == "true"
    assert outcomes["c"].record is not None
    assert "hs_email_optout" not in outcomes["c"].record.fields


@respx.mock(base_url=HS_URL, assert_all_called=False)
async def test_never_sends_anything_but_an_opt_out(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    update = respx_mock.post(UPDATE).mock(side_effect=echo_updates)
    write = respx_mock.post(WRITE).mock(side_effect=unsubscribed)
    ops = [WriteOp(f"k{v}", f"{v}@x.org", {"hs_email_optout": v}, "1") for v in ("false", "", None)]
    outcomes = await hubspot.write(ops)
    assert all(o.ok for o in outcomes)
    assert not write.called
    assert not update.called


@respx.mock(base_url=HS_URL)
async def test_a_refused_opt_out_fails_only_its_record(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(DEFS).mock(return_value=httpx.Response(200, json=DEFINITIONS))

    def gdpr(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        ok = [{**inputs[0], "status": "UNSUBSCRIBED"}]
        error = {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "legalBasis is required",
            "context": {"subscriberIdString": [inputs[1]["subscriberIdString"]]},
            "errors": [],
            "links": {},
        }
        body = {"status": "COMPLETE", "results": ok, "errors": [error], "numErrors": 1}
        return httpx.Response(207, json=body, headers={"X-HubSpot-Correlation-Id": "c-1"})

    respx_mock.post(WRITE).mock(side_effect=gdpr)
    ops = [WriteOp(k, f"{k}@x.org", {"hs_email_optout": "true"}, k) for k in ("1", "2")]
    outcomes = {o.key: o for o in await hubspot.write(ops)}
    assert outcomes["1"].ok
    failure = outcomes["2"].failure
    assert failure is not None
    assert "legalBasis is required" in failure.message
    assert (failure.field, failure.request_id) == ("hs_email_optout", "c-1")


@respx.mock(base_url=HS_URL)
async def test_a_new_contact_is_created_before_it_is_opted_out(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(DEFS).mock(return_value=httpx.Response(200, json=DEFINITIONS))
    order: list[str] = []

    def upsert(request: httpx.Request) -> httpx.Response:
        order.append("upsert")
        item = json.loads(request.content)["inputs"][0]
        assert "hs_email_optout" not in item["properties"]
        result = {
            "id": "9",
            "properties": item["properties"],
            "objectWriteTraceId": item["objectWriteTraceId"],
        }
        return httpx.Response(200, json={"status": "COMPLETE", "results": [result]})

    def write(request: httpx.Request) -> httpx.Response:
        order.append("write")
        return unsubscribed(request)

    respx_mock.post(UPSERT).mock(side_effect=upsert)
    respx_mock.post(WRITE).mock(side_effect=write)
    [outcome] = await hubspot.write([WriteOp("n", "n@x.org", {"hs_email_optout": "true"})])
    assert outcome.ok
    assert order == ["upsert", "write"]


@respx.mock(base_url=HS_URL)
async def test_the_subscription_must_exist_and_be_active(respx_mock: respx.MockRouter) -> None:
    defs = {**DEFINITIONS, "results": [*DEFINITIONS["results"], definition(13, active=False)]}
    respx_mock.get(DEFS).mock(return_value=httpx.Response(200, json=defs))
    respx_mock.get(f"{PROPS}/email").mock(return_value=httpx.Response(200, json={}))
    for configured, words in ((99, "no email subscription 99"), (13, "is not active")):
        hs = client(subscription_id=configured)
        with pytest.raises(ConsentSetupError, match=words) as caught:
            await hs.check()
        assert "11 (Sub 11)" in caught.value.message
        assert caught.value.setting == "subscription_id"
        await hs.aclose()
    picked = client()
    await picked.check()
    assert await picked.consent.subscription_id() == 11  # the one default, non-internal type
    await picked.aclose()


@respx.mock(base_url=HS_URL)
async def test_no_single_default_subscription_asks_for_the_setting(
    respx_mock: respx.MockRouter,
) -> None:
    defs = {**DEFINITIONS, "results": [definition(11, default=True), definition(14, default=True)]}
    respx_mock.get(DEFS).mock(return_value=httpx.Response(200, json=defs))
    respx_mock.get(f"{PROPS}/email").mock(return_value=httpx.Response(200, json={}))
    hs = client()
    with pytest.raises(ConsentSetupError, match="not set, and the portal has no single default"):
        await hs.check()
    await hs.aclose()


@respx.mock(base_url=HS_URL)
async def test_read_only_fields_leave_out_the_consent_property(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    def prop(name: str, read_only: bool) -> dict[str, Any]:
        return {"name": name, "modificationMetadata": {"readOnlyValue": read_only}}

    results = [prop("firstname", False), prop("createdate", True), prop("hs_email_optout", True)]
    respx_mock.get(PROPS).mock(return_value=httpx.Response(200, json={"results": results}))
    assert await hubspot.read_only_fields() == {"createdate"}


@respx.mock(base_url=HS_URL)
async def test_an_opt_out_of_the_subscription_alone_reads_as_opted_out(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(DEFS).mock(return_value=httpx.Response(200, json=DEFINITIONS))
    contact = {
        "id": "7",
        "properties": {
            "email": "p@x.org",
            "hs_email_optout": "false",  # real portals: "unsubscribed from all email"
            "hs_email_optout_11": "true",
            "lastmodifieddate": "2026-01-02T03:04:05Z",
        },
    }
    search = respx_mock.post("/crm/v3/objects/contacts/search").mock(
        return_value=httpx.Response(200, json={"total": 1, "results": [contact]})
    )
    page = await hubspot.fetch_page(None, None)
    assert "hs_email_optout_11" in json.loads(search.calls[0].request.content)["properties"]
    assert page.records[0].fields["hs_email_optout"] == "true"


@respx.mock(base_url=HS_URL)
async def test_a_refused_property_is_explained_by_its_own_message(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    detail = '"createdate" is a read only property; its value cannot be set.'
    error = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": 'Property values were not valid: [{"isValid":false,"message":"…"}]',
        "context": {"ids": ["1"]},
        "errors": [{"message": detail, "code": "READ_ONLY_VALUE", "in": "createdate"}],
    }
    respx_mock.post(UPDATE).mock(
        return_value=httpx.Response(207, json={"results": [], "errors": [error], "numErrors": 1})
    )
    [outcome] = await hubspot.write([WriteOp("k", "a@x.org", {"createdate": "x"}, "1")])
    assert outcome.failure is not None
    assert (outcome.failure.message, outcome.failure.field) == (detail, "createdate")
