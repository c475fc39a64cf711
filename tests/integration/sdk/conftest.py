"""Fixtures: the vendors' official Python SDKs pointed at the sandbox, with every exchange
recorded and checked against the vendors' OpenAPI files when the test ends.

HubSpot's client takes ``host`` as a configuration key (each generated API client gets it), and
its generic ``api_request`` takes ``base_url`` per call. Mailchimp's ``set_config`` only knows a
data-centre ``server`` and builds ``https://{server}.api.mailchimp.com/3.0`` by replacing the
word ``server`` in its ``host``; setting ``host`` to the sandbox after ``set_config`` is the one
switch the SDK offers (the sandbox URL has no ``server`` in it to be replaced).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hubspot
import mailchimp_marketing
import pytest
import requests

from sandbox.recorder import Exchange
from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.contract.openapi import ContractChecker, Report


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=5,
        overlap=6,
        hubspot_only=6,
        mailchimp_only=4,
        invalid_emails=0,
        missing_emails=0,
    )


@dataclass
class Traffic:
    """The sandbox's recorded exchanges, checked against the specs."""

    server: SandboxServer
    checker: ContractChecker

    def clean(self) -> Report:
        """Everything since the last call matched a spec operation and validated."""
        report = self.checker.check(self.server.store.exchanges.take())
        assert report.unmatched == [], report.summary()
        assert report.violations == [], report.summary()
        return report

    def refused(self) -> list[Exchange]:
        """Requests sent wrong on purpose: the sandbox's answers still follow the spec, and the
        checker finds the request fault too (the sandbox and the spec agree it is wrong)."""
        exchanges = self.server.store.exchanges.take()
        report = self.checker.check(exchanges)
        assert report.unmatched == [], report.summary()
        assert [v for v in report.violations if not v.where.startswith("request")] == [], (
            report.summary()
        )
        assert report.violations, "the deliberately wrong request passed the spec check"
        return exchanges


@pytest.fixture(autouse=True)
def traffic(sandbox: SandboxServer, checker: ContractChecker) -> Iterator[Traffic]:
    """Whatever a test leaves unchecked is checked when it ends."""
    recorded = Traffic(sandbox, checker)
    yield recorded
    recorded.clean()


@pytest.fixture
def hs(sandbox: SandboxServer, sandbox_config: SandboxConfig) -> hubspot.Client:
    return hubspot.Client.create(access_token=sandbox_config.hubspot_token, host=sandbox.url)


@dataclass
class HubSpotRaw:
    """Endpoints the SDK has no models for, through the SDK's own ``api_request``."""

    client: hubspot.Client
    base_url: str

    def call(
        self, method: str, path: str, body: Any = None, qs: dict[str, str] | None = None
    ) -> requests.Response:
        options: dict[str, Any] = {"method": method, "path": path, "base_url": self.base_url}
        if body is not None:
            options["body"] = body
        if qs:
            options["qs"] = qs
        response: requests.Response = self.client.api_request(options)
        return response

    def json(self, method: str, path: str, body: Any = None, **qs: str) -> Any:
        response = self.call(method, path, body, qs)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        return json.loads(response.text)


@pytest.fixture
def hs_raw(hs: hubspot.Client, sandbox: SandboxServer) -> HubSpotRaw:
    return HubSpotRaw(hs, sandbox.url)


@pytest.fixture
def mc(sandbox: SandboxServer, sandbox_config: SandboxConfig) -> mailchimp_marketing.Client:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": sandbox_config.mailchimp_api_key, "server": "us1", "timeout": 10})
    client.api_client.host = f"{sandbox.url}/3.0"
    return client
