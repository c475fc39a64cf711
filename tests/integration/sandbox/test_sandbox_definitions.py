"""Portal presets and field-definition endpoints over real HTTP: HubSpot properties and groups,
Mailchimp merge fields, each refusing what the vendor refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.config import Preset
from sandbox.mc_fields import MERGE_FIELD_LIMIT
from sandbox.presets import CUSTOM_SERVICE_LINES
from sandbox.server import SandboxConfig, SandboxServer

PROPS = "/crm/v3/properties/contacts"
FIELDS = "/lists/a1b2c3d4e5/merge-fields"


def _reset(sandbox: SandboxServer, preset: Preset) -> None:
    sandbox.store.reset(SandboxConfig(preset=preset))


def _option(value: str) -> dict[str, Any]:
    return {"label": value.title(), "value": value, "hidden": False, "displayOrder": 0}


def _prop(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.title(),
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
        **extra,
    }


def _names(hubspot: httpx.Client) -> set[str]:
    return {p["name"] for p in hubspot.get(PROPS).json()["results"]}


def _tags(mailchimp: httpx.Client) -> list[str]:
    body = mailchimp.get(FIELDS, params={"count": 1000}).json()
    return [f["tag"] for f in body["merge_fields"]]


# -- presets -----------------------------------------------------------------------------------
def test_fresh_portal_has_standard_properties_and_default_merge_fields_only(
    sandbox: SandboxServer, hubspot: httpx.Client, mailchimp: httpx.Client
) -> None:
    _reset(sandbox, Preset.FRESH)
    names = _names(hubspot)
    assert {"email", "firstname", "lastname", "phone", "company", "jobtitle"} <= names
    assert not {"service_line", "lead_source"} & names
    assert _tags(mailchimp) == ["FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY"]
    member = mailchimp.get("/lists/a1b2c3d4e5/members", params={"count": 1}).json()["members"][0]
    assert set(member["merge_fields"]) == {"FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY"}
    contact = hubspot.get(
        "/crm/v3/objects/contacts", params={"limit": 1, "properties": "service_line"}
    ).json()["results"][0]
    assert contact["properties"].get("service_line") is None


def test_customised_portal_has_ten_service_lines_and_records_that_use_them(
    sandbox: SandboxServer, hubspot: httpx.Client, mailchimp: httpx.Client
) -> None:
    _reset(sandbox, Preset.CUSTOMISED)
    prop = hubspot.get(f"{PROPS}/service_line").json()
    assert [o["value"] for o in prop["options"]] == list(CUSTOM_SERVICE_LINES)
    assert len(prop["options"]) == 10
    assert prop["modificationMetadata"]["readOnlyValue"] is False
    seeded = {
        c.props.get("service_line")
        for c in sandbox.store.hubspot.contacts.values()
        if c.props.get("service_line")
    }
    assert seeded - {"cardiology", "orthopedics", "behavioral_health"}  # beyond Baton's picks
    service = next(
        f
        for f in mailchimp.get(FIELDS, params={"count": 100}).json()["merge_fields"]
        if f["tag"] == "SERVICE"
    )
    assert service["type"] == "dropdown"
    assert service["options"]["choices"] == list(CUSTOM_SERVICE_LINES.values())


def test_default_preset_is_unchanged_for_existing_tests(
    sandbox: SandboxServer, mailchimp: httpx.Client
) -> None:
    assert _tags(mailchimp) == [
        "FNAME",
        "LNAME",
        "PHONE",
        "COMPANY",
        "JOBTITLE",
        "SERVICE",
        "SOURCE",
        "STAGE",
    ]


# -- HubSpot properties ------------------------------------------------------------------------
def test_create_property_then_read_it_back_and_write_its_values(
    sandbox: SandboxServer, hubspot: httpx.Client
) -> None:
    _reset(sandbox, Preset.FRESH)
    group = hubspot.post(f"{PROPS}/groups", json={"name": "baton", "label": "Baton"})
    assert group.status_code == 201
    body = _prop(
        "service_line",
        type="enumeration",
        fieldType="select",
        groupName="baton",
        options=[_option("cardiology"), _option("oncology")],
    )
    created = hubspot.post(PROPS, json=body)
    assert created.status_code == 201, created.text
    read = hubspot.get(f"{PROPS}/service_line").json()
    assert read["groupName"] == "baton"
    assert [o["value"] for o in read["options"]] == ["cardiology", "oncology"]
    assert read["hubspotDefined"] is False
    contact = hubspot.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "new@clinic.org", "service_line": "oncology"}},
    )
    assert contact.status_code == 201
    refused = hubspot.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "new2@clinic.org", "service_line": "neurology"}},
    )
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"label": ""}, "label"),
        ({"groupName": None}, "groupName"),
        ({"type": "enumeration", "fieldType": "select"}, "options are required"),
        ({"type": "enumeration", "fieldType": "select", "options": []}, "at least one option"),
        ({"type": "number", "fieldType": "text"}, "not valid for type"),
        ({"type": "text"}, "type 'text'"),
        ({"groupName": "nosuchgroup"}, "does not exist"),
        ({"name": "Service_Line"}, "lower-case"),
        ({"name": "hs_mine"}, "hs_"),
        (
            {
                "type": "enumeration",
                "fieldType": "radio",
                "options": [{"label": "A", "value": "a"}],
            },
            "hidden",
        ),
        (
            {
                "type": "enumeration",
                "fieldType": "radio",
                "options": [_option("a"), _option("a")],
            },
            "twice",
        ),
    ],
)
def test_create_property_refuses_what_hubspot_refuses(
    hubspot: httpx.Client, change: dict[str, Any], fragment: str
) -> None:
    body = {k: v for k, v in {**_prop("clinic_size"), **change}.items() if v is not None}
    response = hubspot.post(PROPS, json=body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert fragment in response.json()["message"]
    assert "clinic_size" not in _names(hubspot)


def test_existing_property_or_group_is_a_409(hubspot: httpx.Client) -> None:
    response = hubspot.post(PROPS, json=_prop("firstname"))
    assert response.status_code == 409
    assert response.json()["category"] == "OBJECT_ALREADY_EXISTS"
    group = hubspot.post(
        f"{PROPS}/groups", json={"name": "contactinformation", "label": "Contact information"}
    )
    assert group.status_code == 409


def test_patch_replaces_the_whole_options_list(
    sandbox: SandboxServer, hubspot: httpx.Client
) -> None:
    options = [_option("referral"), _option("event"), _option("webinar")]
    response = hubspot.patch(f"{PROPS}/lead_source", json={"options": options})
    assert response.status_code == 200, response.text
    values = [o["value"] for o in hubspot.get(f"{PROPS}/lead_source").json()["options"]]
    assert values == ["referral", "event", "webinar"]  # the other defaults are gone
    assert hubspot.patch(f"{PROPS}/nosuch", json={"label": "x"}).status_code == 404
    assert hubspot.patch(f"{PROPS}/firstname", json={"label": "x"}).status_code == 400


def test_definition_writes_count_as_write_calls(
    sandbox: SandboxServer, hubspot: httpx.Client, control: httpx.Client
) -> None:
    hubspot.get(PROPS)
    hubspot.get(f"{PROPS}/groups")
    assert control.get("/stats").json()["write_calls"]["hubspot"] == 0
    hubspot.post(PROPS, json=_prop("clinic_size"))
    assert control.get("/stats").json()["write_calls"]["hubspot"] == 1


# -- Mailchimp merge fields --------------------------------------------------------------------
def test_create_merge_field_then_page_through_the_list(
    sandbox: SandboxServer, mailchimp: httpx.Client
) -> None:
    _reset(sandbox, Preset.FRESH)
    created = mailchimp.post(
        FIELDS,
        json={
            "tag": "SERVICE",
            "name": "Service",
            "type": "dropdown",
            "options": {"choices": ["Cardiology", "Oncology"]},
        },
    )
    assert created.status_code == 200, created.text
    merge_id = created.json()["merge_id"]
    assert merge_id == 6
    first = mailchimp.get(FIELDS, params={"count": 4, "offset": 0}).json()
    second = mailchimp.get(FIELDS, params={"count": 4, "offset": 4}).json()
    assert first["total_items"] == 6
    tags = [f["tag"] for f in first["merge_fields"] + second["merge_fields"]]
    assert tags == ["FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY", "SERVICE"]
    assert mailchimp.get(f"{FIELDS}/{merge_id}").json()["options"]["choices"] == [
        "Cardiology",
        "Oncology",
    ]


def test_dropdown_values_outside_the_choices_are_refused(
    sandbox: SandboxServer, mailchimp: httpx.Client
) -> None:
    _reset(sandbox, Preset.CUSTOMISED)
    ok = mailchimp.post(
        "/lists/a1b2c3d4e5/members",
        json={
            "email_address": "a@clinic.org",
            "status": "subscribed",
            "merge_fields": {"SERVICE": "Neurology"},
        },
    )
    assert ok.status_code == 200, ok.text
    bad = mailchimp.post(
        "/lists/a1b2c3d4e5/members",
        json={
            "email_address": "b@clinic.org",
            "status": "subscribed",
            "merge_fields": {"SERVICE": "Cardiolgy"},
        },
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "SERVICE"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"tag": "SERVICELINES", "name": "x", "type": "text"}, "1 to 10"),
        ({"tag": "service", "name": "x", "type": "text"}, "upper-case"),
        ({"tag": "FNAME", "name": "x", "type": "text"}, "already exists"),
        ({"tag": "X", "name": "x", "type": "checkbox"}, "type must be one of"),
        ({"tag": "X", "type": "text"}, "name is required"),
        ({"tag": "X", "name": "x", "type": "dropdown"}, "needs options.choices"),
        ({"tag": "X", "name": "x", "type": "radio", "options": {"choices": []}}, "at least one"),
        ({"tag": "X", "name": "x", "type": "text", "options": {"choices": ["a"]}}, "only allowed"),
    ],
)
def test_create_merge_field_refuses_what_mailchimp_refuses(
    mailchimp: httpx.Client, body: dict[str, Any], fragment: str
) -> None:
    response = mailchimp.post(FIELDS, json=body)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert len(_tags(mailchimp)) == 8


def test_audience_refuses_the_merge_field_past_its_limit(
    sandbox: SandboxServer, mailchimp: httpx.Client
) -> None:
    _reset(sandbox, Preset.FRESH)
    for n in range(MERGE_FIELD_LIMIT - 5):
        ok = mailchimp.post(FIELDS, json={"tag": f"F{n}", "name": f"F{n}", "type": "text"})
        assert ok.status_code == 200
    over = mailchimp.post(FIELDS, json={"tag": "ONEMORE", "name": "One more", "type": "text"})
    assert over.status_code == 400
    assert "most an audience may hold" in over.json()["detail"]
    assert len(_tags(mailchimp)) == MERGE_FIELD_LIMIT


def test_patch_merge_field_needs_its_name_and_replaces_choices_but_not_tag_or_type(
    sandbox: SandboxServer, mailchimp: httpx.Client
) -> None:
    _reset(sandbox, Preset.CUSTOMISED)
    fields = mailchimp.get(FIELDS, params={"count": 100}).json()["merge_fields"]
    source = next(f for f in fields if f["tag"] == "SOURCE")
    path = f"{FIELDS}/{source['merge_id']}"
    choices = [*source["options"]["choices"], "Webinar"]
    nameless = mailchimp.patch(path, json={"options": {"choices": choices}})
    assert nameless.status_code == 400  # the spec's PATCH body requires name
    assert nameless.json()["errors"][0]["field"] == "name"
    named = {"name": source["name"], "options": {"choices": choices}}
    assert mailchimp.patch(path, json=named).status_code == 200
    assert mailchimp.get(path).json()["options"]["choices"][-1] == "Webinar"
    assert mailchimp.patch(path, json={**named, "type": "text"}).status_code == 400
    assert mailchimp.patch(path, json={**named, "tag": "ORIGIN"}).status_code == 400
