"""The endpoints a plain sync does not reach, checked against the vendors' specs too: field
creation by `baton mapping apply` on a fresh portal (HubSpot properties and their group,
Mailchimp merge fields), consent withdrawals through Communication Preferences v4, and a
contact merge followed by the next sync."""

from __future__ import annotations

import pytest

from cli.mapping_cmds import apply_mapping
from flows.settings import Settings
from sandbox.config import Preset
from sandbox.server import SandboxConfig
from tests.integration.contract.openapi import ContractChecker
from tests.integration.vendors import Runner, Vendors

REACHED = {
    "POST /crm/v3/properties/{objectType}",
    "POST /crm/v3/properties/{objectType}/groups",
    "POST /3.0/lists/{list_id}/merge-fields",
    "GET /communication-preferences/v4/definitions",
    "POST /communication-preferences/v4/statuses/batch/write",
    "POST /crm/v3/objects/contacts/merge",
}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        preset=Preset.FRESH,
        seed=13,
        overlap=8,
        hubspot_only=3,
        mailchimp_only=3,
        invalid_emails=0,
        missing_emails=0,
    )


def test_field_creation_consent_and_merges_follow_the_specs(
    settings: Settings, vendors: Vendors, run_sync: Runner, checker: ContractChecker
) -> None:
    apply_mapping(settings, dry_run=False)
    run_sync()
    crm = {
        c["properties"]["email"].lower(): c["id"]
        for c in vendors.hubspot_contacts(["email"])
        if c["properties"].get("email")
    }
    members = {m["email_address"].lower(): m for m in vendors.members()}
    linked = sorted(e for e in set(crm) & set(members) if members[e]["status"] == "subscribed")
    vendors.set_member_status(members[linked[0]]["id"], "unsubscribed")
    run_sync()
    with vendors.hubspot as hs:
        merged = hs.post(
            "/crm/v3/objects/contacts/merge",
            json={"primaryObjectId": crm[linked[1]], "objectIdToMerge": crm[linked[2]]},
        )
        assert merged.status_code == 200, merged.text
    run_sync()

    # Everything, the tests' own arranging requests included, matches the specs.
    report = checker.check(vendors.server.store.exchanges.take())
    assert report.unmatched == [] and report.violations == [], report.summary()
    assert report.operations >= REACHED, sorted(REACHED - report.operations)
