"""Control endpoints: stats counting, fault injection, reseeding."""

from __future__ import annotations

import httpx

CONTACTS = "/crm/v3/objects/contacts"


def test_stats_count_by_template_including_rejections(
    hubspot: httpx.Client, mailchimp: httpx.Client, control: httpx.Client
) -> None:
    hubspot.get(CONTACTS + "/1001")
    hubspot.get(CONTACTS + "/1002")
    hubspot.get(CONTACTS + "/1001", headers={"Authorization": "Bearer wrong"})
    mailchimp.get("/lists/a1b2c3d4e5/members")
    stats = control.get("/stats").json()
    assert stats["requests"]["GET /crm/v3/objects/contacts/{contactId}"] == 3
    assert stats["requests"]["GET /3.0/lists/{list_id}/members"] == 1
    assert stats["records"] == {"hubspot": 73, "mailchimp": 70}
    assert control.post("/stats/reset").status_code == 200
    assert control.get("/stats").json()["requests"] == {}


def test_faults_hit_exact_path_then_clear(
    hubspot: httpx.Client, mailchimp: httpx.Client, control: httpx.Client
) -> None:
    fault = {
        "method": "POST",
        "path": CONTACTS + "/batch/update",
        "status": 503,
        "times": 2,
        "retry_after": 1,
    }
    assert control.post("/faults", json=fault).status_code == 201
    body = {"inputs": [{"id": "1001", "properties": {"jobtitle": "CIO"}}]}
    first = hubspot.post(CONTACTS + "/batch/update", json=body)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"
    assert first.json()["status"] == "error"
    assert hubspot.post(CONTACTS + "/batch/update", json=body).status_code == 503
    assert hubspot.post(CONTACTS + "/batch/update", json=body).status_code == 200
    stats = control.get("/stats").json()
    assert stats["record_writes"]["hubspot"] == {"1001": 1}

    control.post("/faults", json={"method": "GET", "path": "/3.0/ping", "status": 500})
    control.post(
        "/faults",
        json={"method": "GET", "path": "/3.0/lists/a1b2c3d4e5/members", "status": 429, "times": 5},
    )
    broken = mailchimp.get("/ping")
    assert broken.status_code == 500
    assert broken.headers["content-type"].startswith("application/problem+json")
    assert control.delete("/faults").status_code == 200
    assert mailchimp.get("/lists/a1b2c3d4e5/members").status_code == 200


def test_reset_reseeds_with_new_sizes(control: httpx.Client, hubspot: httpx.Client) -> None:
    response = control.post("/reset", json={"overlap": 5, "hubspot_only": 5, "mailchimp_only": 2})
    assert response.status_code == 200
    assert control.get("/stats").json()["records"] == {"hubspot": 13, "mailchimp": 7}
    assert control.post("/reset", json={"overlap": "many"}).status_code == 400
