"""Shared fixtures for connector tests: fast retries and no client-side pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from connector_testkit import FAST, HS_TOKEN, HS_URL, MC_KEY, MC_URL

from connectors.hubspot import HubSpotClient
from connectors.hubspot_quota import HubSpotQuota
from connectors.mailchimp import MailchimpClient


@pytest.fixture
async def hubspot() -> AsyncIterator[HubSpotClient]:
    client = HubSpotClient(
        HS_URL,
        HS_TOKEN,
        properties=["firstname", "lastname"],
        quota=HubSpotQuota.unlimited(),
        retry=FAST,
    )
    yield client
    await client.aclose()


@pytest.fixture
async def mailchimp() -> AsyncIterator[MailchimpClient]:
    client = MailchimpClient(MC_URL, MC_KEY, "L1", retry=FAST)
    yield client
    await client.aclose()
