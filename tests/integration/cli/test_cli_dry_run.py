"""`baton sync --dry-run` as a user runs it (through the Prefect engine): the planned
writes per system and kind and a sample, and not one write call."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from sandbox.server import SandboxConfig, SandboxServer


@pytest.mark.engine
def test_sync_dry_run_prints_the_plan_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    config = SandboxConfig(overlap=3, hubspot_only=2, mailchimp_only=2, invalid_emails=0)
    with SandboxServer(config) as server:
        for name, value in {
            "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "BATON_HUBSPOT_BASE_URL": server.url,
            "BATON_HUBSPOT_TOKEN": config.hubspot_token,
            "BATON_MAILCHIMP_BASE_URL": f"{server.url}/3.0",
            "BATON_MAILCHIMP_API_KEY": config.mailchimp_api_key,
            "BATON_MAILCHIMP_LIST_ID": config.list_id,
            "COLUMNS": "200",
        }.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(app, ["sync", "--dry-run"])
        writes = httpx.get(f"{server.url}/_sandbox/stats").json()["write_calls"]
        status = CliRunner().invoke(app, ["status"])

    assert result.exit_code == 0, result.output
    assert writes == {"hubspot": 0, "mailchimp": 0}
    assert "nothing was written" in result.output
    mailchimp = next(
        line for line in result.output.splitlines() if line.strip().startswith("mailchimp")
    )
    # read, changed, dead, would create, would update, calls
    assert mailchimp.split()[4] == str(config.hubspot_only)
    assert "A sample of the writes:" in result.output
    assert "(dry run)" in status.output
