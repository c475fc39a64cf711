"""Fixtures: one real sandbox server per module, reseeded before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import SandboxConfig, SandboxServer


@pytest.fixture(autouse=True)
def connector_contract(sandbox_server: SandboxServer) -> Iterator[None]:
    """No connector runs here, and these tests send wrong requests on purpose: what they
    recorded is dropped rather than checked (the sandbox's answers are checked in sdk/)."""
    yield
    sandbox_server.store.exchanges.take()


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The running server with fresh default data, counters, faults and limiters."""
    sandbox_server.store.reset(SandboxConfig())
    return sandbox_server


@pytest.fixture
def hubspot(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.config.hubspot_token}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def mailchimp(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    auth = ("anystring", sandbox.config.mailchimp_api_key)
    with httpx.Client(base_url=sandbox.url + "/3.0", auth=auth, timeout=10) as client:
        yield client


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=10) as client:
        yield client
