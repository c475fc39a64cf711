"""Fixtures for end-to-end tests: a sandbox over real HTTP, settings pointing at it,
and read-back helpers that look at the systems through their APIs (not Baton's DB)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.hubspot import HubSpotClient
from connectors.hubspot_quota import HubSpotQuota
from connectors.mailchimp import MailchimpClient
from flows.report import RunReport
from flows.run import Steps, close_connectors, open_context, sync_once
from flows.settings import Settings
from mapping.config import load_mapping
from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.contract.guard import baton_traffic, recording_every_sandbox
from tests.integration.contract.openapi import ContractChecker
from tests.integration.vendors import Runner, Vendors


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=11, overlap=12, hubspot_only=8, mailchimp_only=8, invalid_emails=1, missing_emails=1
    )


@pytest.fixture
def sandbox(sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox_config) as server:
        yield server


@pytest.fixture
def settings(base_settings: Settings, tmp_path) -> Settings:
    return base_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'baton.db'}"})


@pytest.fixture
def base_settings(sandbox: SandboxServer, sandbox_config: SandboxConfig, tmp_path) -> Settings:
    """Settings pointing at the sandbox; each test gives it its own database."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'base.db'}",
        hubspot_base_url=sandbox.url,
        hubspot_token=sandbox_config.hubspot_token,
        mailchimp_base_url=f"{sandbox.url}/3.0",
        mailchimp_api_key=sandbox_config.mailchimp_api_key,
        mailchimp_list_id=sandbox_config.list_id,
        sync_overlap_seconds=5,
        hubspot_search_lag_seconds=3,  # the lag tests switch on; by default the sandbox has none
    )


def make_connectors(settings: Settings) -> dict[str, Any]:
    config = load_mapping(settings.mapping_file)
    assert settings.hubspot_token and settings.mailchimp_api_key and settings.mailchimp_list_id
    return {
        "hubspot": HubSpotClient(
            settings.hubspot_base_url,
            settings.hubspot_token.get_secret_value(),
            properties=config.vendor_fields("hubspot"),
            quota=HubSpotQuota(settings.hubspot_rate_tier, settings.hubspot_rate_share),
        ),
        "mailchimp": MailchimpClient(
            settings.mailchimp_base_url,
            settings.mailchimp_api_key.get_secret_value(),
            settings.mailchimp_list_id,
            max_connections=settings.mailchimp_max_connections,
        ),
    }


@pytest.fixture
def run_sync(settings: Settings) -> Runner:
    """Run one sync with the plain steps (no Prefect engine); returns its report."""

    def run(steps: Steps | None = None, batch_size: int | None = None) -> RunReport:
        async def go() -> RunReport:
            connectors = make_connectors(settings)
            if batch_size is not None:  # small batches make several rounds out of few records
                for connector in connectors.values():
                    connector.write_batch_size = batch_size
            ctx = open_context(settings, connectors=connectors)
            try:
                return await sync_once(ctx, steps or Steps())
            finally:
                await close_connectors(ctx)
                ctx.db.dispose()

        return asyncio.run(go())

    return run


@pytest.fixture
def vendors(sandbox: SandboxServer, sandbox_config: SandboxConfig) -> Vendors:
    return Vendors(sandbox, sandbox_config)


def sync_with(settings: Settings) -> RunReport:
    """One sync with these settings (another mapping file, database or region)."""

    async def go() -> RunReport:
        ctx = open_context(settings, connectors=make_connectors(settings))
        try:
            return await sync_once(ctx)
        finally:
            await close_connectors(ctx)
            ctx.db.dispose()

    return asyncio.run(go())


# -- every request Baton sends is checked against the vendors' specs ---------------------------
@pytest.fixture(scope="session")
def checker() -> ContractChecker:
    """The vendors' spec files, loaded once; fails (never skips) when they are absent."""
    return ContractChecker()


@pytest.fixture(scope="session", autouse=True)
def _recorded_sandboxes() -> Iterator[None]:
    """Sandboxes started by any test or fixture (of any scope) record their exchanges."""
    with recording_every_sandbox():
        yield


@pytest.fixture(autouse=True)
def connector_contract(_recorded_sandboxes: None, checker: ContractChecker) -> Iterator[None]:
    """When a test ends, every request Baton sent to a sandbox (during it, or before it in a
    module's fixtures), and every answer it got, must match the vendors' OpenAPI files (an
    injected fault's answer is broken on purpose: only its request is checked)."""
    yield
    report = baton_traffic(checker)
    assert report.unmatched == [] and report.violations == [], report.summary()
