"""`mapping preview` over real HTTP: zero write calls, Baton's state untouched, and the
writes it shows are the ones the next real sync sends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.contract import WriteOp
from flows.context import SyncContext
from flows.preview import Preview, preview
from flows.push import push_batch
from flows.run import Steps
from flows.settings import Settings
from mapping.config import load_mapping
from sandbox.server import SandboxConfig
from tests.integration.conftest import make_connectors
from tests.integration.vendors import Runner, Vendors

Write = tuple[str, str, str, str | None, tuple[tuple[str, str], ...]]


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=5, overlap=5, hubspot_only=3, mailchimp_only=3, invalid_emails=0, missing_emails=1
    )


def _key(system: str, email: str, external_id: str | None, fields: object) -> Write:
    assert isinstance(fields, dict)
    kind = "create" if external_id is None else "update"
    items = tuple(sorted((k, repr(v)) for k, v in fields.items()))
    return (system, kind, email.strip().lower(), external_id, items)


def _preview(settings: Settings, limit: int) -> Preview:
    async def go() -> Preview:
        connectors = make_connectors(settings)
        try:
            return await preview(
                load_mapping(settings.mapping_file), connectors, settings.database_url, limit
            )
        finally:
            for connector in connectors.values():
                await connector.aclose()

    return asyncio.run(go())


def _recording(sent: list[Write]) -> Steps:
    async def push(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
        sent.extend(_key(system, op.email, op.external_id, dict(op.fields)) for op in ops)
        await push_batch(ctx, system, ops)

    return Steps(push=push)


def _db_file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def test_preview_of_every_record_shows_the_first_sync(
    settings: Settings, run_sync: Runner, vendors: Vendors, sandbox_config: SandboxConfig
) -> None:
    vendors.reset_stats()

    shown = _preview(settings, limit=50)

    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert not _db_file(settings).exists()  # never synced: nothing is created either
    crm = sandbox_config.overlap + sandbox_config.hubspot_only + sandbox_config.missing_emails
    assert sum(1 for r in shown.records if r.system == "hubspot") == crm
    assert sum(1 for r in shown.records if r.system == "mailchimp") == (
        sandbox_config.overlap + sandbox_config.mailchimp_only
    )
    unidentified = [r for r in shown.records if r.email is None]
    assert len(unidentified) == 1 and unidentified[0].problems and not unidentified[0].writes
    someone = next(r for r in shown.records if r.system == "hubspot" and r.email)
    assert someone.values["email"] == someone.email.strip().lower()  # type: ignore[union-attr]
    assert someone.contact is not None and someone.writes

    sent: list[Write] = []
    run_sync(_recording(sent))
    planned = [_key(w.system, w.email, w.external_id, dict(w.fields)) for w in shown.plan().writes]
    assert sorted(planned) == sorted(sent)


def test_a_short_preview_shows_writes_the_sync_then_makes(
    settings: Settings, run_sync: Runner, vendors: Vendors
) -> None:
    run_sync()
    contacts = sorted(vendors.hubspot_contacts(["email"]), key=lambda c: int(c["id"]))
    # HubSpot pages by id: the first contact with an email is among the first fetched.
    position, edited = next((n, c) for n, c in enumerate(contacts) if c["properties"]["email"])
    with vendors.hubspot as client:
        client.patch(
            f"/crm/v3/objects/contacts/{edited['id']}",
            json={"properties": {"firstname": "Previewed"}},
        ).raise_for_status()
    vendors.reset_stats()

    shown = _preview(settings, limit=position + 1)

    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert len(shown.records) == 2 * (position + 1)
    record = next(r for r in shown.records if r.external_id == edited["id"])
    assert record.values["first_name"] == "Previewed"
    assert [(w.system, str(w.kind), dict(w.fields)) for w in record.writes] == [
        ("mailchimp", "update", {"merge_fields.FNAME": "Previewed"})
    ]
    sent: list[Write] = []
    run_sync(_recording(sent))
    planned = [_key(w.system, w.email, w.external_id, dict(w.fields)) for w in shown.plan().writes]
    assert sorted(planned) == sorted(sent)
