"""HubSpot sandbox: read-only properties and Communication Preferences v4, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.hs_subscriptions import DEFAULT_SUBSCRIPTION_ID, SUBSCRIPTIONS, optout_property
from sandbox.server import SandboxConfig, SandboxServer

CONTACTS = "/crm/v3/objects/contacts"
PREFS = "/communication-preferences/v4"
EMAIL = {"channel": "EMAIL"}


def _status(email: str, state: str, sub: Any = DEFAULT_SUBSCRIPTION_ID, **extra: Any) -> Any:
    return {
        "channel": "EMAIL",
        "statusState": state,
        "subscriberIdString": email,
        "subscriptionId": sub,
        **extra,
    }


def _write(hubspot: httpx.Client, *inputs: Any) -> httpx.Response:
    return hubspot.post(f"{PREFS}/statuses/batch/write", json={"inputs": list(inputs)})


def _contact(hubspot: httpx.Client, ident: str = "1001") -> dict[str, Any]:
    props = f"hs_email_optout,{optout_property(DEFAULT_SUBSCRIPTION_ID)}"
    return dict(hubspot.get(f"{CONTACTS}/{ident}", params={"properties": props}).json())


def test_every_property_carries_modification_metadata(hubspot: httpx.Client) -> None:
    props = {p["name"]: p for p in hubspot.get("/crm/v3/properties/contacts").json()["results"]}
    for prop in props.values():
        meta = prop["modificationMetadata"]
        assert set(meta) >= {"readOnlyValue", "readOnlyDefinition", "archivable"}
    read_only = {n for n, p in props.items() if p["modificationMetadata"]["readOnlyValue"]}
    expected = {"hs_email_optout", "hs_object_id", "createdate", "lastmodifieddate"}
    expected |= {"hs_merged_object_ids", *(optout_property(s.id) for s in SUBSCRIPTIONS)}
    assert expected <= read_only
    assert "firstname" not in read_only


def test_single_write_to_a_read_only_property_is_refused(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    response = hubspot.patch(
        f"{CONTACTS}/1001", json={"properties": {"hs_email_optout": "true", "firstname": "X"}}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [
        {
            "message": '"hs_email_optout" is a read only property; its value cannot be set.',
            "code": "READ_ONLY_VALUE",
            "in": "hs_email_optout",
        }
    ]
    assert '\\"hs_email_optout\\" is a read only property' in body["message"]
    assert _contact(hubspot)["properties"]["firstname"] != "X"  # nothing of it applied
    assert control.get("/stats").json()["read_only_refusals"] == {"hs_email_optout": 1}


def test_batch_write_refuses_only_the_input_that_sets_a_read_only_property(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    response = hubspot.post(
        f"{CONTACTS}/batch/update",
        json={
            "inputs": [
                {"id": "1001", "properties": {"jobtitle": "Nurse"}},
                {"id": "1002", "properties": {"createdate": "2020-01-01T00:00:00Z"}},
            ]
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["1001"]
    assert body["errors"][0]["context"]["ids"] == ["1002"]
    assert body["errors"][0]["errors"][0]["code"] == "READ_ONLY_VALUE"
    assert control.get("/stats").json()["read_only_refusals"] == {"createdate": 1}


def test_definitions_list_the_portal_subscriptions(hubspot: httpx.Client) -> None:
    body = hubspot.get(f"{PREFS}/definitions").json()
    assert body["status"] == "COMPLETE"
    ids = [d["id"] for d in body["results"]]
    assert ids == [str(s.id) for s in SUBSCRIPTIONS]
    first = body["results"][0]
    for key in ("createdAt", "description", "id", "isActive", "isDefault", "isInternal", "name"):
        assert key in first


def test_an_opt_out_shows_on_the_contact_and_bumps_its_modified_date(
    hubspot: httpx.Client,
) -> None:
    before = _contact(hubspot)
    email = before["properties"]["email"]
    response = _write(hubspot, _status(email, "UNSUBSCRIBED"))
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["status"] == "UNSUBSCRIBED"
    assert result["setStatusSuccessReason"] == "REQUESTED_CHANGE_OCCURRED"
    after = _contact(hubspot)
    assert after["properties"]["hs_email_optout"] == "true"
    assert after["properties"][optout_property(DEFAULT_SUBSCRIPTION_ID)] == "true"
    assert after["properties"]["lastmodifieddate"] > before["properties"]["lastmodifieddate"]
    again = _write(hubspot, _status(email, "UNSUBSCRIBED")).json()["results"][0]
    assert again["setStatusSuccessReason"] == "NO_STATUS_CHANGE"
    read = hubspot.post(f"{PREFS}/statuses/batch/read", params=EMAIL, json={"inputs": [email]})
    statuses = {s["subscriptionId"]: s["status"] for s in read.json()["results"][0]["statuses"]}
    assert statuses[DEFAULT_SUBSCRIPTION_ID] == "UNSUBSCRIBED"


def test_a_resubscribe_is_reported_and_counted(
    hubspot: httpx.Client, control: httpx.Client
) -> None:
    email = _contact(hubspot)["properties"]["email"]
    _write(hubspot, _status(email, "UNSUBSCRIBED")).raise_for_status()
    result = _write(hubspot, _status(email, "SUBSCRIBED")).json()["results"][0]
    assert result["setStatusSuccessReason"] == "RESUBSCRIBE_OCCURRED"
    assert control.get("/stats").json()["consent_reversals"] == {email.strip().lower(): 1}


def test_status_belongs_to_the_address_not_the_contact(hubspot: httpx.Client) -> None:
    email = "not.yet.a.contact@example.org"
    _write(hubspot, _status(email, "UNSUBSCRIBED")).raise_for_status()
    created = hubspot.post(CONTACTS, json={"properties": {"email": email}}).json()
    assert _contact(hubspot, created["id"])["properties"]["hs_email_optout"] == "true"


def test_malformed_writes_fail_whole_and_unusable_inputs_fail_alone(
    hubspot: httpx.Client,
) -> None:
    email = _contact(hubspot)["properties"]["email"]
    assert (
        _write(hubspot, _status(email, "UNSUBSCRIBED", str(DEFAULT_SUBSCRIPTION_ID))).status_code
        == 400
    )
    assert _write(hubspot, _status(email, "OPTED_OUT")).status_code == 400
    assert _write(hubspot, {"channel": "EMAIL", "statusState": "UNSUBSCRIBED"}).status_code == 400
    assert _write(hubspot, *[_status(email, "UNSUBSCRIBED")] * 101).status_code == 400
    inactive = next(s.id for s in SUBSCRIPTIONS if not s.is_active)
    mixed = _write(
        hubspot,
        _status(email, "UNSUBSCRIBED"),
        _status("nobody@example.org", "UNSUBSCRIBED", 999),
        _status("nobody@example.org", "UNSUBSCRIBED", inactive),
        _status("not an email", "UNSUBSCRIBED"),
    )
    assert mixed.status_code == 207
    body = mixed.json()
    assert [r["subscriberIdString"] for r in body["results"]] == [email]
    assert body["numErrors"] == 3
    read = hubspot.post(f"{PREFS}/statuses/batch/read", json={"inputs": [email]})
    assert read.status_code == 400  # channel is a required query parameter


def test_a_gdpr_portal_requires_a_legal_basis(sandbox: SandboxServer) -> None:
    sandbox.store.reset(SandboxConfig(hubspot_gdpr=True))
    headers = {"Authorization": f"Bearer {sandbox.config.hubspot_token}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as hubspot:
        email = _contact(hubspot)["properties"]["email"]
        bare = _write(hubspot, _status(email, "UNSUBSCRIBED"))
        assert bare.status_code == 207
        assert "GDPR" in bare.json()["errors"][0]["message"]
        based = _write(
            hubspot,
            _status(
                email,
                "UNSUBSCRIBED",
                legalBasis="LEGITIMATE_INTEREST_CLIENT",
                legalBasisExplanation="Opted out in the newsletter tool",
            ),
        )
        assert based.status_code == 200
        assert based.json()["results"][0]["legalBasis"] == "LEGITIMATE_INTEREST_CLIENT"


def test_unsubscribe_all_and_its_read(hubspot: httpx.Client) -> None:
    email = _contact(hubspot)["properties"]["email"]
    other = _contact(hubspot, "1002")["properties"]["email"]
    done = hubspot.post(
        f"{PREFS}/statuses/batch/unsubscribe-all",
        params={**EMAIL, "verbose": "true"},
        json={"inputs": [email]},
    )
    assert done.status_code == 200
    reasons = {s["setStatusSuccessReason"] for s in done.json()["results"][0]["statuses"]}
    assert reasons == {"UNSUBSCRIBE_FROM_ALL_OCCURRED"}
    assert _contact(hubspot)["properties"]["hs_email_optout"] == "true"
    read = hubspot.post(
        f"{PREFS}/statuses/batch/unsubscribe-all/read",
        params=EMAIL,
        json={"inputs": [email, other]},
    ).json()
    wide = {r["subscriberIdString"]: r["wideStatuses"] for r in read["results"]}
    assert wide[email][0]["wideStatusType"] == "PORTAL_WIDE"
    assert wide[email][0]["status"] == "UNSUBSCRIBED"
    if _contact(hubspot, "1002")["properties"]["hs_email_optout"] != "true":
        assert wide[other] == []
    # An address opted out of everything cannot be subscribed again through the API.
    refused = _write(hubspot, _status(email, "SUBSCRIBED"))
    assert refused.status_code == 207
    assert "unsubscribed from all" in refused.json()["errors"][0]["message"]


def test_a_user_opt_out_through_the_control_route(
    sandbox: SandboxServer, hubspot: httpx.Client, control: httpx.Client
) -> None:
    email = _contact(hubspot)["properties"]["email"]
    control.post(
        "/hubspot/opt-out", json={"email": email, "subscriptionId": DEFAULT_SUBSCRIPTION_ID}
    )
    props = _contact(hubspot)["properties"]
    assert props[optout_property(DEFAULT_SUBSCRIPTION_ID)] == "true"
    assert props["hs_email_optout"] == "true"


def test_the_owner_property_accepts_only_existing_owners(hubspot: httpx.Client) -> None:
    owners = hubspot.get("/crm/v3/owners").json()["results"]
    ok = hubspot.patch(
        f"{CONTACTS}/1001", json={"properties": {"hubspot_owner_id": owners[0]["id"]}}
    )
    assert ok.status_code == 200
    bad = hubspot.patch(f"{CONTACTS}/1001", json={"properties": {"hubspot_owner_id": "424242"}})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "INVALID_OPTION"
