"""With 10 % of vendor requests failing in every way the sandbox knows, syncs still
converge: the same records on both sides as a fault-free run, none lost, none twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.contract import flatten
from connectors.http import RetryPolicy
from flows.report import RunReport
from flows.run import close_connectors, open_context, sync_once
from flows.settings import DEFAULT_MAPPING, Settings
from mapping.config import MappingConfig, load_mapping
from mapping.translate import translate_record
from sandbox.faults import ALL_KINDS, FaultKind
from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.conftest import make_connectors
from tests.integration.vendors import Vendors

FIELDS = ["first_name", "last_name", "phone", "organization", "job_title", "email_consent"]
HS_PROPS = ["email", "firstname", "lastname", "phone", "company", "jobtitle", "hs_email_optout"]
READ_TIMEOUT_S = 0.6
STALL_S = 0.9
# Quick retries: the faults are the point here, not the vendors' patience.
RETRY = RetryPolicy(max_attempts=5, base_wait_s=0.05, max_wait_s=0.5)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=23,
        overlap=50,
        hubspot_only=35,
        mailchimp_only=35,
        invalid_emails=1,
        missing_emails=1,
        # Small pages make many requests; pacing is tested elsewhere, faults here.
        hubspot_burst=0,
        hubspot_search_per_second=0,
    )


def sync(settings: Settings) -> RunReport:
    """One run with small pages and batches (many requests) and a short read timeout."""

    async def go() -> RunReport:
        connectors = make_connectors(settings)
        for connector in connectors.values():
            connector.page_size = 5
            connector.write_batch_size = 4
            connector.retry = RETRY
            connector.rate_limit_floor_s = 0.1
            connector._timeout_s = READ_TIMEOUT_S
        connectors["hubspot"].quota.burst.resize(0)
        connectors["hubspot"].quota.search.resize(0)
        ctx = open_context(settings, connectors=connectors)
        try:
            return await sync_once(ctx)
        finally:
            await close_connectors(ctx)
            ctx.db.dispose()

    return asyncio.run(go())


def views(vendors: Vendors, mapping: MappingConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each side as {email: canonical fields}; an address twice on one side fails here."""
    crm: dict[str, Any] = {}
    for contact in vendors.hubspot_contacts(HS_PROPS):
        email = (contact["properties"].get("email") or "").strip().lower()
        assert email not in crm or not email, f"two CRM contacts for {email}"
        values = translate_record(mapping, "hubspot", contact["properties"]).values
        crm[email or contact["id"]] = {f: values.get(f) for f in FIELDS}
    members: dict[str, Any] = {}
    for member in vendors.members():
        email = member["email_address"].strip().lower()
        assert email not in members, f"two members for {email}"
        values = translate_record(mapping, "mailchimp", flatten(member)).values
        members[email] = {f: values.get(f) for f in FIELDS}
    return crm, members


@pytest.fixture
def expected(
    sandbox_config: SandboxConfig, base_settings: Settings, tmp_path: Any
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Both sides after a fault-free sync of the same seed."""
    mapping = load_mapping(DEFAULT_MAPPING)
    with SandboxServer(sandbox_config) as clean:
        settings = base_settings.model_copy(
            update={
                "database_url": f"sqlite:///{tmp_path / 'clean.db'}",
                "hubspot_base_url": clean.url,
                "mailchimp_base_url": f"{clean.url}/3.0",
            }
        )
        report = sync(settings)
        assert report.errors == {}
        yield views(Vendors(clean, sandbox_config), mapping)


def test_ten_percent_faults_of_every_kind_converge_with_nothing_lost_or_doubled(
    settings: Settings,
    vendors: Vendors,
    expected: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    control = f"{vendors.server.url}/_sandbox"
    chaos = {"rate": 0.1, "seed": 4, "stall_seconds": STALL_S}
    httpx.put(f"{control}/faults/random", json=chaos, timeout=5).raise_for_status()

    runs = [sync(settings)]
    # A system set aside (every retry failed) is picked up again by the next run.
    while runs[-1].errors and len(runs) < 4:
        runs.append(sync(settings))
    assert runs[-1].errors == {}
    # Once converged, a further run under the same faults finds nothing to write.
    assert sync(settings).writes == 0

    stats = vendors.stats()
    httpx.delete(f"{control}/faults", timeout=5).raise_for_status()
    # Every kind met each system it applies to (kinds take turns; see sandbox.faults).
    assert set(stats["faults"]["mailchimp"]) == {k.value for k in ALL_KINDS}
    assert set(stats["faults"]["hubspot"]) == {
        k.value for k in ALL_KINDS if k is not FaultKind.BARE_403
    }
    # Faults after the work was done made clients send some writes again, and still
    # no record exists twice (checked below through the APIs).
    assert sum(stats["duplicate_writes"].values()) > 0
    crm, members = views(vendors, load_mapping(DEFAULT_MAPPING))
    want_crm, want_members = expected
    assert sorted(crm) == sorted(want_crm)  # nobody lost, nobody created twice
    assert sorted(members) == sorted(want_members)
    assert crm == want_crm
    assert members == want_members
