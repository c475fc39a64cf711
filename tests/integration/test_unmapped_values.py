"""On the customised-portal preset, whose service-line picklist holds three values the
shipped mapping does not list: with `unmapped: keep` (the shipped default) no record is
dead-lettered over them and every other field still syncs; adding them to the mapping
carries them across."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.settings import DEFAULT_MAPPING, Settings
from sandbox.config import Preset
from sandbox.presets import CUSTOM_SERVICE_LINES
from sandbox.server import SandboxConfig
from tests.integration.conftest import sync_with
from tests.integration.vendors import Runner, Vendors

EXTRA = {
    v: label
    for v, label in CUSTOM_SERVICE_LINES.items()
    if v in ("neurology", "pediatrics", "womens_health")
}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        preset=Preset.CUSTOMISED,
        seed=7,
        overlap=30,
        hubspot_only=10,
        mailchimp_only=10,
        invalid_emails=0,
        missing_emails=0,
    )


def _mapping(tmp_path: Path, *, with_extra: bool) -> Path:
    """The shipped mapping cut to what this portal has (as the consent test does)."""
    mapping: dict[str, Any] = yaml.safe_load(DEFAULT_MAPPING.read_text())
    fields = mapping["fields"]
    del fields["job_title"]["mailchimp"]
    del fields["lifecycle_stage"]["mailchimp"]
    del fields["lead_source"]
    if with_extra:
        fields["service_line"]["choices"] += list(EXTRA)
        fields["service_line"]["mailchimp"]["values"].update(EXTRA)
    path = tmp_path / ("extended.yaml" if with_extra else "mapping.yaml")
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    return base_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'baton.db'}",
            "mapping_file": _mapping(tmp_path, with_extra=False),
        }
    )


def test_values_the_mapping_lacks_are_kept_not_dead_lettered(
    run_sync: Runner, vendors: Vendors
) -> None:
    crm = vendors.hubspot_contacts(["email", "service_line"])
    assert any(c["properties"].get("service_line") in EXTRA for c in crm)
    report = run_sync()
    assert all(c.dead_lettered == 0 for c in report.systems.values())
    assert report.of("hubspot").kept_unmapped + report.of("mailchimp").kept_unmapped > 0
    # Every member reached both systems, the kept values did not stop them.
    emails = {m["email_address"].strip().lower() for m in vendors.members()}
    crm_emails = {
        c["properties"]["email"].strip().lower()
        for c in vendors.hubspot_contacts(["email"])
        if c["properties"].get("email")
    }
    assert emails == crm_emails


def test_listing_the_values_carries_them_across(
    settings: Settings, run_sync: Runner, vendors: Vendors, tmp_path: Path
) -> None:
    run_sync()
    extended = settings.model_copy(update={"mapping_file": _mapping(tmp_path, with_extra=True)})
    # A full pull: the contacts were already read with the old mapping.
    fresh = extended.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'second.db'}"})
    sync_with(fresh)
    crm = {
        c["properties"]["email"].strip().lower(): c["properties"].get("service_line")
        for c in vendors.hubspot_contacts(["email", "service_line"])
        if c["properties"].get("email")
    }
    members = {m["email_address"].strip().lower(): m for m in vendors.members()}
    carried = [e for e, v in crm.items() if v in EXTRA and e in members]
    assert carried
    for email in carried:
        assert members[email]["merge_fields"]["SERVICE"] == EXTRA[str(crm[email])]
