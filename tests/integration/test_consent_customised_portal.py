"""On the customised-portal preset: a full sync then a no-change sync write no read-only
property, resubscribe no one, and carry opt-outs to HubSpot through its API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.settings import DEFAULT_MAPPING, Settings
from sandbox.config import Preset
from sandbox.server import SandboxConfig
from tests.integration.vendors import Runner, Vendors


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        preset=Preset.CUSTOMISED,
        seed=11,
        overlap=12,
        hubspot_only=8,
        mailchimp_only=8,
        invalid_emails=1,
        missing_emails=1,
    )


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    """The shipped mapping cut to what this portal has (its audience lacks JOBTITLE and
    STAGE, and its lead sources are its own)."""
    mapping: dict[str, Any] = yaml.safe_load(DEFAULT_MAPPING.read_text())
    fields = mapping["fields"]
    del fields["job_title"]["mailchimp"]
    del fields["lifecycle_stage"]["mailchimp"]
    del fields["lead_source"]
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return base_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'baton.db'}", "mapping_file": path}
    )


def test_full_then_no_change_sync_on_a_customised_portal(
    run_sync: Runner, vendors: Vendors
) -> None:
    before = {m["email_address"].strip().lower(): m["status"] for m in vendors.members()}
    run_sync()
    first = vendors.stats()
    assert first["read_only_refusals"] == {}
    assert first["consent_reversals"] == {}
    assert first["requests"].get("POST /communication-preferences/v4/statuses/batch/write")
    vendors.reset_stats()
    run_sync()
    second = vendors.stats()
    assert second["read_only_refusals"] == {}
    assert second["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    after = {m["email_address"].strip().lower(): m["status"] for m in vendors.members()}
    crm = {
        c["properties"]["email"].strip().lower(): c["properties"]
        for c in vendors.hubspot_contacts(["email", "hs_email_optout"])
        if c["properties"].get("email")
    }
    withdrawn = [e for e, s in before.items() if s in ("unsubscribed", "cleaned")]
    assert withdrawn
    for email in withdrawn:
        assert after[email] == before[email]  # never resubscribed
        assert crm[email]["hs_email_optout"] == "true"
