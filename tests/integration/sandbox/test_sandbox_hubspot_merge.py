"""HubSpot-style contact merges over real HTTP."""

from __future__ import annotations

import httpx

from tests.integration.sandbox.searching import search_body

CONTACTS = "/crm/v3/objects/contacts"


def create(hubspot: httpx.Client, email: str, **props: str) -> str:
    response = hubspot.post(CONTACTS, json={"properties": {"email": email, **props}})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_merge_gives_a_new_id_that_both_old_ids_resolve_to(hubspot: httpx.Client) -> None:
    a = create(hubspot, "merge.a@example.org", firstname="Ana")
    b = create(hubspot, "merge.b@example.org", firstname="Other", phone="+16175550100")
    response = hubspot.post(f"{CONTACTS}/merge", json={"primaryObjectId": a, "objectIdToMerge": b})
    assert response.status_code == 200, response.text
    merged = response.json()
    survivor = merged["id"]
    assert survivor not in (a, b)
    assert sorted(merged["properties"]["hs_merged_object_ids"].split(";")) == sorted([a, b])
    for old in (a, b):
        got = hubspot.get(f"{CONTACTS}/{old}", params={"properties": "firstname,phone"})
        assert got.status_code == 200
        assert got.json()["id"] == survivor
        # The primary's values win; the other's fill the gaps.
        assert got.json()["properties"]["firstname"] == "Ana"
        assert got.json()["properties"]["phone"] == "+16175550100"

    listed: set[str] = set()
    after: str | None = None
    while True:
        params = {"limit": 100, **({"after": after} if after else {})}
        body = hubspot.get(CONTACTS, params=params).json()
        listed |= {r["id"] for r in body["results"]}
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert survivor in listed
    assert not {a, b} & listed
    search = hubspot.post(
        f"{CONTACTS}/search",
        json=search_body([{"propertyName": "hs_object_id", "operator": "IN", "values": [a, b]}]),
    ).json()
    assert search["results"] == []


def test_merge_of_an_unknown_id_is_404(hubspot: httpx.Client) -> None:
    a = create(hubspot, "merge.c@example.org")
    response = hubspot.post(
        f"{CONTACTS}/merge", json={"primaryObjectId": a, "objectIdToMerge": "999999"}
    )
    assert response.status_code == 404
