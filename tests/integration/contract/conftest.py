"""Fixtures: the integration sandbox with its exchange recorder on, and the spec checker."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxConfig
from tests.integration.contract.openapi import ContractChecker


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=11,
        overlap=12,
        hubspot_only=8,
        mailchimp_only=8,
        invalid_emails=1,
        missing_emails=1,
        record_exchanges=True,
    )


@pytest.fixture(scope="session")
def checker() -> ContractChecker:
    """Loads the vendors' spec files once; fails (never skips) when they are absent."""
    return ContractChecker()
