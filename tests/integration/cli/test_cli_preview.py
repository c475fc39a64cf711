"""`baton mapping preview` as a user runs it: readings and planned writes, no write call."""

from __future__ import annotations

import httpx

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import baton, settings_for


def test_preview_prints_readings_and_writes_and_writes_nothing(tmp_path) -> None:
    config = SandboxConfig(overlap=2, hubspot_only=2, mailchimp_only=2, missing_emails=0)
    with SandboxServer(config) as server:
        result = baton(
            "mapping", "preview", "--limit", "2", env=settings_for(server, config, tmp_path)
        )
        stats = httpx.get(f"{server.url}/_sandbox/stats").json()
    assert result.returncode == 0, result.stderr
    assert stats["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert result.stdout.count("reads as: ") == 4
    assert "would write " in result.stdout
    assert "writes for these records: hubspot " in result.stdout
    assert not (tmp_path / "cli.db").exists()
