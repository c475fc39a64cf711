"""`baton mapping discover` on the customised portal, over real HTTP: the starter mapping it
writes validates against both systems, and a sync with it carries every picklist value the
portal holds both ways, with no dead letter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from cli.main import app
from cli.mapping_cmds import discover_fields
from flows.settings import DEFAULT_MAPPING, Settings
from sandbox.config import Preset
from sandbox.presets import CUSTOM_LEAD_SOURCES, CUSTOM_SERVICE_LINES
from sandbox.server import SandboxConfig
from tests.integration.vendors import Runner, Vendors


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        preset=Preset.CUSTOMISED,
        seed=4,
        overlap=3,
        hubspot_only=len(CUSTOM_SERVICE_LINES),
        mailchimp_only=len(CUSTOM_SERVICE_LINES),
        invalid_emails=0,
        missing_emails=0,
    )


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    """Syncs use the starter mapping the test writes."""
    return base_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'baton.db'}",
            "mapping_file": tmp_path / "m.yaml",
        }
    )


def _norm(email: str) -> str:
    return email.strip().lower()


def _give_every_value(vendors: Vendors, crm_only: list[dict[str, Any]], mc_only: list[Any]) -> None:
    """Each picklist value on a record of its own in each system."""
    services, sources = list(CUSTOM_SERVICE_LINES), list(CUSTOM_LEAD_SOURCES)
    with vendors.hubspot as hs:
        for n, contact in enumerate(crm_only):
            hs.patch(
                f"/crm/v3/objects/contacts/{contact['id']}",
                json={
                    "properties": {
                        "service_line": services[n % len(services)],
                        "lead_source": sources[n % len(sources)],
                    }
                },
            ).raise_for_status()
    labels, source_labels = list(CUSTOM_SERVICE_LINES.values()), list(CUSTOM_LEAD_SOURCES.values())
    with vendors.mailchimp as mc:
        for n, member in enumerate(mc_only):
            mc.patch(
                f"/lists/{vendors.config.list_id}/members/{member['id']}",
                json={
                    "merge_fields": {
                        "SERVICE": labels[n % len(labels)],
                        "SOURCE": source_labels[n % len(source_labels)],
                    }
                },
            ).raise_for_status()


def _environment(settings: Settings) -> dict[str, str]:
    assert settings.hubspot_token and settings.mailchimp_api_key and settings.mailchimp_list_id
    return {
        "BATON_DATABASE_URL": settings.database_url,
        "BATON_HUBSPOT_BASE_URL": settings.hubspot_base_url,
        "BATON_HUBSPOT_TOKEN": settings.hubspot_token.get_secret_value(),
        "BATON_MAILCHIMP_BASE_URL": str(settings.mailchimp_base_url),
        "BATON_MAILCHIMP_API_KEY": settings.mailchimp_api_key.get_secret_value(),
        "BATON_MAILCHIMP_LIST_ID": settings.mailchimp_list_id,
    }


def test_discovered_mapping_validates_and_syncs_every_value(
    settings: Settings,
    run_sync: Runner,
    vendors: Vendors,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = settings.mapping_file
    # Discovered with the shipped mapping in place, which marks what it binds.
    found = discover_fields(settings.model_copy(update={"mapping_file": DEFAULT_MAPPING}), out)

    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    marked = {f.info.name: f.mapped_as for f in found.fields["hubspot"]}
    assert marked["service_line"] == "service_line" and marked["ehr_system"] is None
    assert ("merge_fields.JOBTITLE", "job_title") in found.missing["mailchimp"]
    starter = yaml.safe_load(out.read_text())["fields"]
    assert starter["service_line"]["type"] == "enum"
    assert starter["service_line"]["choices"] == list(CUSTOM_SERVICE_LINES)
    assert starter["service_line"]["mailchimp"]["values"] == CUSTOM_SERVICE_LINES
    assert starter["lead_source"]["mailchimp"]["values"] == CUSTOM_LEAD_SOURCES
    assert starter["ehr_system"] == {
        "policy": "newest",
        "hubspot": "ehr_system",
        "mailchimp": "merge_fields.EHR",
    }
    assert "mailchimp" not in starter["job_title"]  # the audience has no job-title field
    for name, value in _environment(settings).items():
        monkeypatch.setenv(name, value)
    checked = CliRunner().invoke(app, ["mapping", "validate", str(out), "--remote"])
    assert checked.exit_code == 0, checked.output
    assert "valid and both systems have its fields" in checked.output

    crm = vendors.hubspot_contacts(["email"])
    members = vendors.members()
    crm_emails = {_norm(c["properties"]["email"]) for c in crm}
    mc_emails = {_norm(m["email_address"]) for m in members}
    crm_only = [c for c in crm if _norm(c["properties"]["email"]) not in mc_emails]
    mc_only = [m for m in members if _norm(m["email_address"]) not in crm_emails]
    _give_every_value(vendors, crm_only, mc_only)

    first = run_sync()
    assert not first.errors
    assert {s: c.dead_lettered for s, c in first.systems.items()} == {"hubspot": 0, "mailchimp": 0}
    second = run_sync()
    assert second.writes == 0

    by_email = {
        _norm(c["properties"]["email"]): c["properties"]
        for c in vendors.hubspot_contacts(["email", "service_line", "lead_source"])
    }
    merged = {_norm(m["email_address"]): m["merge_fields"] for m in vendors.members()}
    assert set(by_email) == set(merged)
    for email, props in by_email.items():
        if props.get("service_line"):
            assert merged[email]["SERVICE"] == CUSTOM_SERVICE_LINES[props["service_line"]]
        if props.get("lead_source"):
            assert merged[email]["SOURCE"] == CUSTOM_LEAD_SOURCES[props["lead_source"]]
    # Every value the portal offers went each way: CRM-only people carry all of them to
    # the audience, audience-only people carry all of them to the CRM.
    from_crm = {by_email[_norm(c["properties"]["email"])]["service_line"] for c in crm_only}
    from_mc = {by_email[_norm(m["email_address"])]["service_line"] for m in mc_only}
    assert from_crm == from_mc == set(CUSTOM_SERVICE_LINES)


def test_discover_never_overwrites_a_file_unasked(settings: Settings, tmp_path: Path) -> None:
    existing = tmp_path / "mine.yaml"
    existing.write_text("# mine\n")
    with pytest.raises(typer.Exit):
        discover_fields(settings, existing)
    assert existing.read_text() == "# mine\n"
    discover_fields(settings, existing, force=True)
    assert "version: 1" in existing.read_text()
