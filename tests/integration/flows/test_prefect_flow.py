"""The Prefect flow end to end, through the real engine (a throw-away Prefect API)."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxConfig, SandboxServer


@pytest.mark.engine
async def test_sync_flow_runs_through_prefect(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from prefect.client.orchestration import get_client

    from flows.sync import sync_flow

    config = SandboxConfig(overlap=6, hubspot_only=4, mailchimp_only=4)
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
        first = await sync_flow()
        second = await sync_flow()

    # CRM-only people reach the email platform, except those whose email it refuses.
    assert first["systems"]["mailchimp"]["created"] == config.hubspot_only
    assert first["systems"]["hubspot"]["created"] == config.mailchimp_only
    assert sum(c["created"] + c["updated"] for c in second["systems"].values()) == 0

    async with get_client() as client:
        runs = await client.read_flow_runs()
        tasks = await client.read_task_runs()
        artifact = await client.read_latest_artifacts()
        everything = [*await client.read_artifacts(), *await client.read_logs(), *runs, *tasks]
    # What Prefect keeps (artifacts, logs, run parameters and states) holds no secret.
    kept = "\n".join(item.model_dump_json() for item in everything)
    assert config.hubspot_token not in kept
    assert config.mailchimp_api_key not in kept
    assert sum(1 for r in runs if r.state is not None and r.state.is_completed()) >= 2
    names = {t.name.rsplit("-", 1)[0] for t in tasks}
    assert {"fetch-page", "apply-page", "push-batch"} <= names
    assert any(a.key == "baton-sync-run" for a in artifact)
