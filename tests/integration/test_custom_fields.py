"""Fields and values an admin adds in the mapping file alone, over real HTTP against a fresh
sandbox portal: `baton mapping apply` creates them, and syncs carry them both ways without
a line of code."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cli.mapping_cmds import apply_mapping
from flows.settings import DEFAULT_MAPPING, Settings
from sandbox.config import Preset
from sandbox.server import SandboxConfig
from tests.integration.vendors import Runner, Vendors

# Three new canonical fields, each with a HubSpot property and a Mailchimp merge field.
CUSTOM = """
  visit_count:
    type: number
    policy: newest
    hubspot: visit_count
    mailchimp: merge_fields.VISITS
  last_visit:
    type: date
    policy: newest
    hubspot: last_visit
    mailchimp: merge_fields.LASTVISIT
  portal_user:
    type: boolean
    policy: newest
    hubspot: portal_user
    mailchimp: merge_fields.PORTAL
"""


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        preset=Preset.FRESH,
        seed=5,
        overlap=4,
        hubspot_only=2,
        mailchimp_only=2,
        invalid_emails=0,
        missing_emails=0,
    )


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(DEFAULT_MAPPING.read_text().replace("fields:\n", "fields:\n" + CUSTOM, 1))
    return path


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path, mapping_file: Path) -> Settings:
    return base_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'baton.db'}",
            "mapping_file": mapping_file,
        }
    )


def _shared(vendors: Vendors) -> tuple[dict[str, str], dict[str, str]]:
    """Email -> HubSpot id and email -> Mailchimp id, for people in both systems."""
    crm = {
        c["properties"]["email"].strip().lower(): c["id"]
        for c in vendors.hubspot_contacts(["email"])
        if c["properties"].get("email")
    }
    members = {m["email_address"].strip().lower(): m["id"] for m in vendors.members()}
    both = sorted(set(crm) & set(members))
    return {e: crm[e] for e in both}, {e: members[e] for e in both}


def test_a_field_added_in_yaml_round_trips_both_ways(
    settings: Settings, vendors: Vendors, run_sync: Runner
) -> None:
    plans = apply_mapping(settings, dry_run=False)
    created = {(p.system, a.spec.name) for p in plans for a in p.actions}
    assert {("hubspot", "visit_count"), ("mailchimp", "merge_fields.VISITS")} <= created
    assert ("mailchimp", "merge_fields.PORTAL") in created
    first = run_sync()
    assert not first.errors
    crm_ids, member_ids = _shared(vendors)
    to_mc, to_hs = sorted(crm_ids)[:2]

    # One person's new fields change in the CRM, another's in the email platform.
    time.sleep(1.1)
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{crm_ids[to_mc]}",
            json={
                "properties": {
                    "visit_count": "7",
                    "last_visit": "2026-03-01",
                    "portal_user": "true",
                }
            },
        ).raise_for_status()
    with vendors.mailchimp as mc:
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{member_ids[to_hs]}",
            json={"merge_fields": {"VISITS": 12.5, "LASTVISIT": "2025-12-24", "PORTAL": "false"}},
        ).raise_for_status()
    time.sleep(1.1)
    run_sync()

    members = {m["email_address"].strip().lower(): m for m in vendors.members()}
    assert float(members[to_mc]["merge_fields"]["VISITS"]) == 7
    assert members[to_mc]["merge_fields"]["LASTVISIT"] == "2026-03-01"
    assert members[to_mc]["merge_fields"]["PORTAL"] == "true"
    crm = {
        c["properties"]["email"].strip().lower(): c["properties"]
        for c in vendors.hubspot_contacts(["email", "visit_count", "last_visit", "portal_user"])
        if c["properties"].get("email")
    }
    assert crm[to_hs]["visit_count"] == "12.5"
    assert crm[to_hs]["last_visit"] == "2025-12-24"
    assert crm[to_hs]["portal_user"] == "false"

    # Reading back its own writes, Baton sees nothing new: the typed values are stable.
    time.sleep(1.1)
    run_sync()
    vendors.reset_stats()
    settled = run_sync()
    assert settled.writes == 0
    assert all(c.dead_lettered == 0 for c in settled.systems.values())


def test_a_new_enum_value_in_yaml_and_the_portal_syncs(
    settings: Settings, vendors: Vendors, run_sync: Runner, mapping_file: Path
) -> None:
    apply_mapping(settings, dry_run=False)
    run_sync()
    # The admin adds a service line: a choice, and its label in the email platform.
    text = mapping_file.read_text()
    text = text.replace("oncology, telehealth]", "oncology, telehealth, neurology]")
    text = text.replace(
        "        telehealth: Telehealth\n",
        "        telehealth: Telehealth\n        neurology: Neurology\n",
    )
    mapping_file.write_text(text)
    plans = apply_mapping(settings, dry_run=False)
    added = [(p.system, a.missing) for p in plans for a in p.actions if a.missing]
    assert ("hubspot", ("neurology",)) in added
    assert ("mailchimp", ("Neurology",)) in added

    crm_ids, member_ids = _shared(vendors)
    person = sorted(crm_ids)[0]
    time.sleep(1.1)
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{crm_ids[person]}",
            json={"properties": {"service_line": "neurology"}},
        ).raise_for_status()
    time.sleep(1.1)
    report = run_sync()
    assert all(c.dead_lettered == 0 for c in report.systems.values())
    member = next(m for m in vendors.members() if m["id"] == member_ids[person])
    assert member["merge_fields"]["SERVICE"] == "Neurology"
