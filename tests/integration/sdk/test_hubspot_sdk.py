"""HubSpot's official Python SDK (hubspot-api-client 12) against the sandbox: contacts list,
search, batch upsert/update/archive, merge, properties and groups, and Communication
Preferences v4 through the SDK's generic ``api_request`` (SDK 12 models only v3)."""

from __future__ import annotations

import json
import time
from typing import Any

import hubspot
import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicMergeInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
)
from hubspot.crm.contacts.exceptions import ApiException, NotFoundException
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from sandbox.server import SandboxServer
from tests.integration.sdk.conftest import HubSpotRaw, Traffic

MARKETING = 5843001  # the sandbox portal's "Marketing Information" subscription


def _all_pages(hs: hubspot.Client, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    after = None
    while True:
        page = hs.crm.contacts.basic_api.get_page(limit=4, after=after, **kwargs)
        out.extend(page.results)
        if page.paging is None:
            return out
        after = page.paging.next.after


def _upsert(email: str, **props: str) -> SimplePublicObjectBatchInputUpsert:
    return SimplePublicObjectBatchInputUpsert(id=email, id_property="email", properties=props)


def _error_body(exc: Exception) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(getattr(exc, "body", "") or "{}")
    return body


def test_list_pages_through_every_live_contact(
    hs: hubspot.Client, sandbox: SandboxServer, traffic: Traffic
) -> None:
    contacts = _all_pages(hs, properties=["phone", "company"])
    ids = [c.id for c in contacts]
    assert len(ids) == len(set(ids)) == sandbox.store.hubspot.live_count()
    # Both repeated ``properties`` values are honoured, not just the last one.
    assert all({"phone", "company", "email"} <= set(c.properties) for c in contacts)
    assert all(c.properties["hs_object_id"] == c.id and not c.archived for c in contacts)
    one = hs.crm.contacts.basic_api.get_by_id(ids[0], properties=["jobtitle", "phone"])
    assert {"jobtitle", "phone"} <= set(one.properties)
    assert one.created_at <= one.updated_at
    assert sorted(c.id for c in hs.crm.contacts.get_all()) == sorted(ids)
    with pytest.raises(NotFoundException):
        hs.crm.contacts.basic_api.get_by_id("9999999")
    assert "GET /crm/v3/objects/contacts/{contactId}" in traffic.clean().operations


def test_search_filters_sorts_and_pages_with_after(hs: hubspot.Client, traffic: Traffic) -> None:
    every = _all_pages(hs, properties=["phone"])
    with_phone = {c.id for c in every if c.properties.get("phone")}
    assert with_phone
    found: list[Any] = []
    # The spec's PublicObjectSearchRequest requires after and sorts; the first page is "0".
    after = "0"
    total = None
    while True:
        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[
                        Filter(property_name="phone", operator="HAS_PROPERTY"),
                        Filter(property_name="lastmodifieddate", operator="GTE", value="0"),
                    ]
                )
            ],
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=["email", "phone", "lastmodifieddate"],
            limit=2,
            after=after,
        )
        page = hs.crm.contacts.search_api.do_search(public_object_search_request=request)
        total = page.total
        found.extend(page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert total == len(found) == len(with_phone)
    assert {c.id for c in found} == with_phone
    stamps = [c.properties["lastmodifieddate"] for c in found]
    assert stamps == sorted(stamps)
    # Two filter groups are OR-ed: an EQ on one address or the other.
    emails = [every[0].properties["email"], every[1].properties["email"]]
    either = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="email", operator="EQ", value=e)])
            for e in emails
        ],
        sorts=[],
        properties=["email"],
        limit=10,
        after="0",
    )
    hits = hs.crm.contacts.search_api.do_search(public_object_search_request=either)
    assert sorted(c.properties["email"].lower() for c in hits.results) == sorted(
        e.lower() for e in emails
    )
    assert "POST /crm/v3/objects/contacts/search" in traffic.clean().operations


def test_batch_upsert_creates_then_updates_and_refuses_read_only_per_input(
    hs: hubspot.Client, traffic: Traffic
) -> None:
    batch = hs.crm.contacts.batch_api
    first = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[_upsert("ada.new@clinic.example", firstname="Ada", jobtitle="Nurse")]
        )
    )
    assert first.status == "COMPLETE" and not getattr(first, "errors", None)
    (created,) = first.results
    assert created.new is True and created.properties["firstname"] == "Ada"
    again = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                _upsert("ada.new@clinic.example", jobtitle="Charge Nurse"),
                _upsert("bo.new@clinic.example", hs_email_optout="true"),
            ]
        )
    )
    # 207: the SDK picks its WithErrors model; the good input still went through.
    (updated,) = again.results
    assert updated.id == created.id and updated.new is False
    assert updated.properties["jobtitle"] == "Charge Nurse"
    (refused,) = again.errors
    assert refused.status == "error" and refused.category == "VALIDATION_ERROR"
    assert refused.context == {"emails": ["bo.new@clinic.example"]}
    assert [e.code for e in refused.errors] == ["READ_ONLY_VALUE"]
    assert again.num_errors == 1

    missing = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=created.id, properties={"lastname": "Lovelace"}),
                SimplePublicObjectBatchInput(id="9999999", properties={"lastname": "Nobody"}),
            ]
        )
    )
    assert [r.properties["lastname"] for r in missing.results] == ["Lovelace"]
    assert [e.category for e in missing.errors] == ["OBJECT_NOT_FOUND"]
    read = hs.crm.contacts.basic_api.get_by_id(created.id, properties=["jobtitle"])
    assert read.properties["jobtitle"] == "Charge Nurse" and read.properties["lastname"] == (
        "Lovelace"
    )
    traffic.clean()


def test_single_write_to_a_read_only_property_is_a_400(hs: hubspot.Client) -> None:
    contact = hs.crm.contacts.basic_api.get_page(limit=1).results[0]
    with pytest.raises(ApiException) as refused:
        hs.crm.contacts.basic_api.update(
            contact.id, SimplePublicObjectInput(properties={"hs_email_optout": "true"})
        )
    assert refused.value.status == 400
    body = _error_body(refused.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["code"] == "READ_ONLY_VALUE"
    assert '"hs_email_optout" is a read only property' in body["errors"][0]["message"]


def test_archived_contacts_leave_the_list_and_show_with_archived_true(
    hs: hubspot.Client, traffic: Traffic
) -> None:
    victim = hs.crm.contacts.basic_api.get_page(limit=1).results[0]
    hs.crm.contacts.batch_api.archive(
        BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=victim.id)])
    )
    assert victim.id not in {c.id for c in _all_pages(hs)}
    archived = hs.crm.contacts.basic_api.get_page(archived=True).results
    (gone,) = [c for c in archived if c.id == victim.id]
    assert gone.archived is True and gone.archived_at is not None
    traffic.clean()


def test_merge_answers_with_the_survivor_and_old_ids_follow_it(
    hs: hubspot.Client, traffic: Traffic
) -> None:
    first, second = hs.crm.contacts.basic_api.get_page(limit=2).results
    merged = hs.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=first.id, object_id_to_merge=second.id)
    )
    absorbed = set(merged.properties["hs_merged_object_ids"].split(";"))
    assert {first.id, second.id} <= absorbed
    for old in (first.id, second.id):
        assert hs.crm.contacts.basic_api.get_by_id(old).id == merged.id
    listed = {c.id for c in _all_pages(hs)}
    assert merged.id in listed and not ({first.id, second.id} - {merged.id}) & listed
    assert "POST /crm/v3/objects/contacts/merge" in traffic.clean().operations


def test_properties_and_groups_round_trip(hs: hubspot.Client, traffic: Traffic) -> None:
    core, groups = hs.crm.properties.core_api, hs.crm.properties.groups_api
    every = {p.name: p for p in core.get_all(object_type="contacts").results}
    assert every["hs_email_optout"].modification_metadata.read_only_value is True
    assert every["email"].modification_metadata.read_only_value is False
    assert every["lifecyclestage"].type == "enumeration" and every["lifecyclestage"].options

    group = groups.create(
        object_type="contacts",
        property_group_create=PropertyGroupCreate(name="care_team", label="Care team"),
    )
    assert group.name == "care_team"
    assert "care_team" in {g.name for g in groups.get_all(object_type="contacts").results}
    options = [
        OptionInput(label="North", value="north", display_order=1, hidden=False),
        OptionInput(label="South", value="south", display_order=2, hidden=False),
        OptionInput(label="Retired", value="retired", display_order=3, hidden=True),
    ]
    created = core.create(
        object_type="contacts",
        property_create=PropertyCreate(
            name="clinic_site",
            label="Clinic site",
            type="enumeration",
            field_type="select",
            group_name="care_team",
            description="Which clinic the person attends",
            display_order=4,
            options=options,
        ),
    )
    fetched = core.get_by_name(object_type="contacts", property_name="clinic_site")
    for prop in (created, fetched):
        assert prop.description == "Which clinic the person attends"
        assert prop.display_order == 4 and prop.group_name == "care_team"
        assert [(o.value, o.display_order, o.hidden) for o in prop.options] == [
            ("north", 1, False),
            ("south", 2, False),
            ("retired", 3, True),
        ]
        assert prop.modification_metadata.read_only_value is False
    assert fetched.created_at.year >= 2026 and fetched.hubspot_defined is False
    with pytest.raises(PropertiesApiException) as duplicate:
        core.create(
            object_type="contacts",
            property_create=PropertyCreate(
                name="clinic_site",
                label="Again",
                type="string",
                field_type="text",
                group_name="care_team",
            ),
        )
    assert duplicate.value.status == 409

    # The new enumeration accepts its options (a hidden one too) and nothing else.
    contact = hs.crm.contacts.basic_api.get_page(limit=1).results[0]
    for value in ("south", "retired"):
        written = hs.crm.contacts.basic_api.update(
            contact.id, SimplePublicObjectInput(properties={"clinic_site": value})
        )
        assert written.properties["clinic_site"] == value
    with pytest.raises(ApiException) as bad:
        hs.crm.contacts.basic_api.update(
            contact.id, SimplePublicObjectInput(properties={"clinic_site": "east"})
        )
    assert _error_body(bad.value)["errors"][0]["code"] == "INVALID_OPTION"
    ops = traffic.clean().operations
    assert {
        "GET /crm/v3/properties/{objectType}",
        "POST /crm/v3/properties/{objectType}",
        "GET /crm/v3/properties/{objectType}/{propertyName}",
        "POST /crm/v3/properties/{objectType}/groups",
        "GET /crm/v3/properties/{objectType}/groups",
    } <= ops


def test_communication_preferences_v4_batch_through_api_request(
    hs: hubspot.Client, hs_raw: HubSpotRaw, traffic: Traffic
) -> None:
    definitions = hs_raw.json("GET", "/communication-preferences/v4/definitions")
    assert MARKETING in {int(d["id"]) for d in definitions["results"]}
    contact = hs.crm.contacts.basic_api.get_page(limit=1, properties=["hs_email_optout"])
    person = contact.results[0]
    email = person.properties["email"]
    write = {
        "inputs": [
            {
                "channel": "EMAIL",
                "statusState": "UNSUBSCRIBED",
                "subscriberIdString": email,
                "subscriptionId": MARKETING,
            }
        ]
    }
    first = hs_raw.json("POST", "/communication-preferences/v4/statuses/batch/write", write)
    assert [r["setStatusSuccessReason"] for r in first["results"]] == ["REQUESTED_CHANGE_OCCURRED"]
    second = hs_raw.json("POST", "/communication-preferences/v4/statuses/batch/write", write)
    assert [r["setStatusSuccessReason"] for r in second["results"]] == ["NO_STATUS_CHANGE"]
    statuses = hs_raw.json(
        "POST",
        "/communication-preferences/v4/statuses/batch/read",
        {"inputs": [email]},
        channel="EMAIL",
    )
    (row,) = statuses["results"]
    assert {s["subscriptionId"]: s["status"] for s in row["statuses"]}[MARKETING] == (
        "UNSUBSCRIBED"
    )

    time.sleep(0.01)  # lastmodifieddate has millisecond precision
    hs_raw.json(
        "POST",
        "/communication-preferences/v4/statuses/batch/unsubscribe-all",
        {"inputs": [email]},
        channel="EMAIL",
    )
    wide = hs_raw.json(
        "POST",
        "/communication-preferences/v4/statuses/batch/unsubscribe-all/read",
        {"inputs": [email]},
        channel="EMAIL",
    )
    assert [w["status"] for w in wide["results"][0]["wideStatuses"]] == ["UNSUBSCRIBED"]
    after = hs.crm.contacts.basic_api.get_by_id(person.id, properties=["hs_email_optout"])
    assert after.properties["hs_email_optout"] == "true"
    assert after.updated_at > person.updated_at
    assert {
        "GET /communication-preferences/v4/definitions",
        "POST /communication-preferences/v4/statuses/batch/read",
        "POST /communication-preferences/v4/statuses/batch/write",
        "POST /communication-preferences/v4/statuses/batch/unsubscribe-all",
        "POST /communication-preferences/v4/statuses/batch/unsubscribe-all/read",
    } <= traffic.clean().operations


def test_a_write_without_its_required_fields_is_refused_by_sandbox_and_spec(
    hs_raw: HubSpotRaw, traffic: Traffic
) -> None:
    response = hs_raw.call(
        "POST",
        "/communication-preferences/v4/statuses/batch/write",
        {"inputs": [{"subscriberIdString": "x@clinic.example", "channel": "EMAIL"}]},
    )
    assert response.status_code == 400
    traffic.refused()


def test_property_history_comes_back_newest_first(hs: hubspot.Client, traffic: Traffic) -> None:
    basic = hs.crm.contacts.basic_api
    contact = basic.get_page(limit=1, properties=["jobtitle"]).results[0]
    seeded = contact.properties.get("jobtitle")
    for title in ("Nurse", "Charge Nurse"):
        basic.update(contact.id, SimplePublicObjectInput(properties={"jobtitle": title}))
    one = basic.get_by_id(contact.id, properties_with_history=["jobtitle", "createdate"])
    versions = one.properties_with_history["jobtitle"]
    expected = ["Charge Nurse", "Nurse", *([seeded] if seeded else [])]
    assert [v.value for v in versions] == expected
    assert [v.source_type for v in versions[:2]] == ["API", "API"]
    stamps = [v.timestamp for v in versions]
    assert stamps == sorted(stamps, reverse=True)
    assert [v.source_type for v in one.properties_with_history["createdate"]] == ["CALCULATED"]
    page = basic.get_page(limit=50, properties_with_history=["jobtitle"]).results
    (listed,) = [c for c in page if c.id == contact.id]
    assert [v.value for v in listed.properties_with_history["jobtitle"]] == expected
    read = hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=contact.id)],
            properties=["jobtitle"],
            properties_with_history=["jobtitle"],
        )
    )
    assert [v.value for v in read.results[0].properties_with_history["jobtitle"]] == expected
    # A history page is at most 50 records; more is refused, not silently cut.
    with pytest.raises(ApiException) as too_many:
        basic.get_page(limit=51, properties_with_history=["jobtitle"])
    assert too_many.value.status == 400
    assert "GET /crm/v3/objects/contacts/{contactId}" in traffic.clean().operations
