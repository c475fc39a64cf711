"""The Prefect flow's `dry_run` parameter, through the real engine: it writes nothing, and
the run that follows makes the writes it planned."""

from __future__ import annotations

import httpx
import pytest

from sandbox.server import SandboxConfig, SandboxServer


@pytest.mark.engine
async def test_sync_flow_dry_run_then_the_real_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from flows.sync import sync_flow

    config = SandboxConfig(
        overlap=4, hubspot_only=3, mailchimp_only=3, invalid_emails=0, missing_emails=0
    )
    with SandboxServer(config) as server:
        for name, value in {
            "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'flow.db'}",
            "BATON_HUBSPOT_BASE_URL": server.url,
            "BATON_HUBSPOT_TOKEN": config.hubspot_token,
            "BATON_MAILCHIMP_BASE_URL": f"{server.url}/3.0",
            "BATON_MAILCHIMP_API_KEY": config.mailchimp_api_key,
            "BATON_MAILCHIMP_LIST_ID": config.list_id,
        }.items():
            monkeypatch.setenv(name, value)
        planned = await sync_flow(dry_run=True)
        writes = httpx.get(f"{server.url}/_sandbox/stats").json()["write_calls"]
        real = await sync_flow()

    assert writes == {"hubspot": 0, "mailchimp": 0}
    assert planned["dry_run"] is True and planned["sample"]
    for system, counts in real["systems"].items():
        assert planned["planned"][system] == {
            "create": counts["created"],
            "update": counts["updated"],
        }
    assert planned["planned"]["mailchimp"]["create"] == config.hubspot_only
