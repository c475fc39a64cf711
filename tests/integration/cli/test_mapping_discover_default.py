"""`baton mapping discover` on the default sandbox portal, where the audience keeps the
CRM's picklists in text fields: the starter copies them there with the CRM's labels, and
a sync with it converges with no dead letter."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli.mapping_cmds import discover_fields
from flows.settings import Settings
from sandbox.server import SandboxConfig
from tests.integration.vendors import Runner, Vendors


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=8, overlap=4, hubspot_only=4, mailchimp_only=4, invalid_emails=0, missing_emails=0
    )


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    return base_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'baton.db'}",
            "mapping_file": tmp_path / "m.yaml",
        }
    )


def test_picklists_reach_text_fields_with_their_labels(
    settings: Settings, run_sync: Runner, vendors: Vendors
) -> None:
    discover_fields(settings, settings.mapping_file)
    starter = yaml.safe_load(settings.mapping_file.read_text())["fields"]
    assert starter["service_line"]["mailchimp"]["direction"] == "push"

    first = run_sync()
    second = run_sync()

    assert {s: c.dead_lettered for s, c in first.systems.items()} == {"hubspot": 0, "mailchimp": 0}
    assert second.writes == 0
    labels = starter["service_line"]["mailchimp"]["values"]
    crm = {
        c["properties"]["email"].strip().lower(): c["properties"].get("service_line")
        for c in vendors.hubspot_contacts(["email", "service_line"])
    }
    for member in vendors.members():
        value = crm[member["email_address"].strip().lower()]
        if value:
            assert member["merge_fields"]["SERVICE"] == labels[value]
