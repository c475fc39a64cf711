"""Every preset's portal refuses writes to HubSpot's read-only properties as HubSpot does:
the definition says ``readOnlyValue``, a single write is a 400 ``READ_ONLY_VALUE`` and a batch
refuses only the input that tried."""

from __future__ import annotations

import httpx
import pytest

from sandbox.config import Preset
from sandbox.hs_subscriptions import SUBSCRIPTIONS, optout_property
from sandbox.server import SandboxConfig, SandboxServer

CONTACTS = "/crm/v3/objects/contacts"
# The names the verified rules list, on every portal.
READ_ONLY = (
    "hs_email_optout",
    *(optout_property(s.id) for s in SUBSCRIPTIONS),
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
    "hs_analytics_source",
    "hs_merged_object_ids",
)


@pytest.fixture(params=list(Preset))
def portal(request: pytest.FixtureRequest, sandbox: SandboxServer) -> Preset:
    preset: Preset = request.param
    sandbox.store.reset(SandboxConfig(preset=preset))
    return preset


def test_definitions_say_read_only(hubspot: httpx.Client, portal: Preset) -> None:
    listed = {p["name"]: p for p in hubspot.get("/crm/v3/properties/contacts").json()["results"]}
    for name in READ_ONLY:
        assert listed[name]["modificationMetadata"]["readOnlyValue"] is True, (portal, name)


@pytest.mark.parametrize("name", READ_ONLY)
def test_single_write_is_a_400_read_only_value(
    hubspot: httpx.Client, portal: Preset, name: str
) -> None:
    response = hubspot.patch(f"{CONTACTS}/1001", json={"properties": {name: "true"}})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [
        {
            "message": f'"{name}" is a read only property; its value cannot be set.',
            "code": "READ_ONLY_VALUE",
            "in": name,
        }
    ]


def test_batches_refuse_only_the_input_that_tries(hubspot: httpx.Client, portal: Preset) -> None:
    upsert = hubspot.post(
        f"{CONTACTS}/batch/upsert",
        json={
            "inputs": [
                {"id": "ro.a@example.org", "idProperty": "email", "properties": {}},
                {
                    "id": "ro.b@example.org",
                    "idProperty": "email",
                    "properties": {"hs_analytics_source": "OFFLINE"},
                },
            ]
        },
    )
    assert upsert.status_code == 207
    body = upsert.json()
    assert [r["properties"]["email"] for r in body["results"]] == ["ro.a@example.org"]
    (error,) = body["errors"]
    assert error["context"]["emails"] == ["ro.b@example.org"]
    assert [e["code"] for e in error["errors"]] == ["READ_ONLY_VALUE"]
    created = hubspot.post(
        f"{CONTACTS}/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "ro.c@example.org"}, "associations": []},
                {
                    "properties": {"email": "ro.d@example.org", "hs_merged_object_ids": "1"},
                    "associations": [],
                },
            ]
        },
    )
    assert created.status_code == 207
    assert [e["errors"][0]["code"] for e in created.json()["errors"]] == ["READ_ONLY_VALUE"]
