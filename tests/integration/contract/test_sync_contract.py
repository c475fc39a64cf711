"""Every request a sync, a replay and the pre-run check send, and every sandbox answer,
validate against the vendors' OpenAPI files."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from flows.replay import replay_letters
from flows.run import verify_systems
from flows.settings import Settings
from mapping.config import load_mapping
from tests.integration.conftest import make_connectors
from tests.integration.contract.openapi import ContractChecker, Report
from tests.integration.test_replay import open_letters
from tests.integration.vendors import Runner, Vendors

# What one sync and its settling touch; each must have been checked at least once.
EXPECTED = {
    "POST /crm/v3/objects/contacts/search",
    "POST /crm/v3/objects/contacts/batch/upsert",
    "POST /crm/v3/objects/contacts/batch/update",
    "GET /crm/v3/properties/{objectType}",
    "GET /3.0/ping",
    "GET /3.0/lists/{list_id}/merge-fields",
    "GET /3.0/lists/{list_id}/members",
    "POST /3.0/lists/{list_id}",
}


def _checked(vendors: Vendors, checker: ContractChecker) -> Report:
    report = checker.check(vendors.server.store.exchanges.take())
    assert report.checked > 0
    assert report.unmatched == [], report.summary()
    assert report.violations == [], report.summary()
    return report


def _verify(settings: Settings) -> None:
    async def go() -> None:
        connectors = make_connectors(settings)
        try:
            await verify_systems(
                load_mapping(settings.mapping_file), connectors, settings.mapping_file
            )
        finally:
            for connector in connectors.values():
                await connector.aclose()

    asyncio.run(go())


def test_sync_edits_and_refused_records_follow_the_specs(
    settings: Settings, vendors: Vendors, run_sync: Runner, checker: ContractChecker
) -> None:
    _verify(settings)
    first = run_sync()
    assert first.of("mailchimp").dead_lettered >= vendors.config.invalid_emails
    exchanges = vendors.server.store.exchanges.take()
    batches = [e for e in exchanges if e.method == "POST" and e.path.endswith("/a1b2c3d4e5")]
    # The refused address came back as an error inside a 200 batch answer.
    assert any(json.loads(e.response_body)["error_count"] > 0 for e in batches)
    report = checker.check(exchanges)
    assert report.unmatched == [] and report.violations == [], report.summary()

    time.sleep(1.1)  # vendor timestamps have whole seconds
    crm = vendors.hubspot_contacts(["email"])[:3]
    with vendors.hubspot as hs:
        for contact in crm:
            hs.patch(
                f"/crm/v3/objects/contacts/{contact['id']}",
                json={"properties": {"jobtitle": "Clinic Manager"}},
            ).raise_for_status()
    members = [m for m in vendors.members() if m["status"] == "subscribed"][:3]
    with vendors.mailchimp as mc:
        for member in members:
            mc.patch(
                f"/lists/{vendors.config.list_id}/members/{member['id']}",
                json={"merge_fields": {"COMPANY": "Harbor Health"}},
            ).raise_for_status()
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{members[0]['id']}",
            json={"status": "unsubscribed"},
        ).raise_for_status()
    time.sleep(1.1)
    run_sync()
    run_sync()
    report = _checked(vendors, checker)
    # The edits went out on both sides through checked exchanges.
    assert {"POST /3.0/lists/{list_id}", "POST /crm/v3/objects/contacts/batch/update"} <= (
        report.operations
    )


def test_replay_of_refused_writes_follows_the_specs(
    settings: Settings, vendors: Vendors, run_sync: Runner, checker: ContractChecker
) -> None:
    fault = {"method": "POST", "path": f"/3.0/lists/{vendors.config.list_id}", "status": 400}
    httpx.post(
        f"{vendors.server.url}/_sandbox/faults", timeout=5, json={**fault, "times": 10_000}
    ).raise_for_status()
    run_sync()
    httpx.delete(f"{vendors.server.url}/_sandbox/faults", timeout=5).raise_for_status()
    refused = [row[0] for row in open_letters(settings) if row[1] == "push"]
    assert refused
    results = replay_letters(settings, refused, connectors=make_connectors(settings))
    assert all(r.queued for r in results)
    run_sync()
    _checked(vendors, checker)


def test_every_expected_operation_is_exercised(
    settings: Settings, vendors: Vendors, run_sync: Runner, checker: ContractChecker
) -> None:
    _verify(settings)
    run_sync()
    report = _checked(vendors, checker)
    assert report.operations >= EXPECTED, sorted(EXPECTED - report.operations)
