"""`baton mapping apply` on a fresh portal, over real HTTP: a dry run writes nothing, apply
creates what the shipped mapping needs (read back through each API), a second apply writes
nothing, and the sync that follows converges."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cli.mapping_cmds import apply_mapping
from flows.field_setup import ActionKind
from flows.settings import Settings
from sandbox.config import Preset
from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.vendors import Runner


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        preset=Preset.FRESH,
        seed=3,
        overlap=6,
        hubspot_only=4,
        mailchimp_only=4,
        invalid_emails=0,
        missing_emails=0,
    )


@pytest.fixture
def stats(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=10) as client:
        yield client


def _writes(stats: httpx.Client) -> dict[str, int]:
    return dict(stats.get("/stats").json()["write_calls"])


def test_apply_on_a_fresh_portal_then_sync_converges(
    settings: Settings, sandbox: SandboxServer, stats: httpx.Client, run_sync: Runner
) -> None:
    planned = apply_mapping(settings, dry_run=True)
    assert _writes(stats) == {"hubspot": 0, "mailchimp": 0}
    creates = {(p.system, a.spec.name) for p in planned for a in p.actions}
    assert ("hubspot", "service_line") in creates
    assert ("mailchimp", "merge_fields.SERVICE") in creates
    assert all(a.kind is ActionKind.CREATE for p in planned for a in p.actions)

    apply_mapping(settings, dry_run=False)
    assert sum(_writes(stats).values()) > 0
    token = {"Authorization": f"Bearer {sandbox.config.hubspot_token}"}
    prop = httpx.get(f"{sandbox.url}/crm/v3/properties/contacts/service_line", headers=token)
    assert prop.json()["groupName"] == "baton"
    assert "cardiology" in [o["value"] for o in prop.json()["options"]]
    fields = httpx.get(
        f"{sandbox.url}/3.0/lists/{sandbox.config.list_id}/merge-fields",
        params={"count": 100},
        auth=("x", sandbox.config.mailchimp_api_key),
    ).json()["merge_fields"]
    service = next(f for f in fields if f["tag"] == "SERVICE")
    assert service["type"] == "dropdown" and "Cardiology" in service["options"]["choices"]

    stats.post("/stats/reset")
    again = apply_mapping(settings, dry_run=False)
    assert _writes(stats) == {"hubspot": 0, "mailchimp": 0}
    assert all(not p.actions for p in again)

    first = run_sync()
    assert not first.errors
    second = run_sync()
    assert second.writes == 0
    assert all(c.dead_lettered == 0 for c in second.systems.values())
