"""The search body's rules over real HTTP: the spec's required fields, HubSpot's limits on
sorts and filters, and the 10,000-result window."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.hs_search import REQUIRED_FIELDS
from tests.integration.sandbox.searching import search_body

SEARCH = "/crm/v3/objects/contacts/search"
ONE = {"propertyName": "hs_object_id", "operator": "GT", "value": "0"}


@pytest.fixture(autouse=True)
def unpaced(control: httpx.Client) -> None:
    """Many searches in a row: the 5-a-second search limit is not what these tests check."""
    control.post("/reset", json={"hubspot_search_per_second": 0}).raise_for_status()


def refusal(hubspot: httpx.Client, body: dict[str, Any]) -> str:
    response = hubspot.post(SEARCH, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["category"] == "VALIDATION_ERROR" and answer["status"] == "error"
    message: str = answer["message"]
    return message


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_each_required_field_must_be_present(hubspot: httpx.Client, name: str) -> None:
    body = search_body([ONE])
    del body[name]
    assert name in refusal(hubspot, body)
    assert hubspot.post(SEARCH, json=search_body([ONE])).status_code == 200


def test_fields_must_have_their_json_types(hubspot: httpx.Client) -> None:
    assert "after" in refusal(hubspot, search_body(after=0))
    assert "after" in refusal(hubspot, search_body(after=""))
    assert "limit" in refusal(hubspot, search_body(limit="10"))
    assert "properties" in refusal(hubspot, search_body(properties="email"))
    assert "filterGroups" in refusal(hubspot, search_body(filterGroups={}))
    assert "direction" in refusal(
        hubspot, search_body(sorts=[{"propertyName": "email", "direction": "UP"}])
    )


def test_filters_need_an_operator_and_string_values(hubspot: httpx.Client) -> None:
    assert "operator" in refusal(hubspot, search_body([{"propertyName": "email", "value": "x"}]))
    numeric = {"propertyName": "hs_object_id", "operator": "GT", "value": 0}
    assert "string" in refusal(hubspot, search_body([numeric]))
    listed = {"propertyName": "hs_object_id", "operator": "IN", "values": [1001]}
    assert "strings" in refusal(hubspot, search_body([listed]))


def test_one_sort_five_groups_six_filters_a_group_eighteen_in_all(hubspot: httpx.Client) -> None:
    two = [{"propertyName": "email", "direction": "ASCENDING"}, "hs_object_id"]
    assert "sort" in refusal(hubspot, search_body(sorts=two))
    assert "filterGroups" in refusal(hubspot, search_body(*([[ONE]] * 6)))
    assert "filters" in refusal(hubspot, search_body([ONE] * 7))
    assert "18" in refusal(hubspot, search_body(*([[ONE] * 6] * 3), [ONE]))
    allowed = hubspot.post(SEARCH, json=search_body(*([[ONE] * 6] * 3)))
    assert allowed.status_code == 200, allowed.text


def test_free_text_query_is_refused_rather_than_ignored(hubspot: httpx.Client) -> None:
    assert "query" in refusal(hubspot, search_body(query="smith"))


def test_no_query_answers_past_its_window(
    hubspot: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The seeded portal has 73 contacts; a window of 30 stands in for HubSpot's 10,000.
    monkeypatch.setattr("sandbox.hubspot.SEARCH_WINDOW", 30)
    body = search_body(limit=20, after="20", sorts=["hs_object_id"])
    last = hubspot.post(SEARCH, json=body).json()
    assert len(last["results"]) == 10 and "paging" not in last
    assert last["total"] == 73
    first = hubspot.post(SEARCH, json=search_body(limit=20, sorts=["hs_object_id"])).json()
    assert first["paging"]["next"]["after"] == "20"
    assert "10,000" in refusal(hubspot, search_body(after="30"))
