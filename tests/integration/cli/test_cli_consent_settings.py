"""`baton sync` names the consent settings in one line when the portal cannot take them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import baton, one_line_error, settings_for


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxServer, SandboxConfig]]:
    config = SandboxConfig(overlap=2, hubspot_only=1, mailchimp_only=1)
    with SandboxServer(config) as server:
        yield server, config


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        (
            "BATON_HUBSPOT_SUBSCRIPTION_ID",
            "999",
            "BATON_HUBSPOT_SUBSCRIPTION_ID: the portal has no email subscription 999",
        ),
        (
            "BATON_HUBSPOT_SUBSCRIPTION_ID",
            "5843004",
            "BATON_HUBSPOT_SUBSCRIPTION_ID: email subscription 5843004 (Seasonal Campaigns) "
            "is not active",
        ),
        ("BATON_HUBSPOT_LEGAL_BASIS", "BECAUSE", "BATON_HUBSPOT_LEGAL_BASIS:"),
    ],
)
def test_a_bad_consent_setting_is_one_line(
    sandbox: tuple[SandboxServer, SandboxConfig],
    tmp_path,
    setting: str,
    value: str,
    expected: str,
) -> None:
    server, config = sandbox
    env = {**settings_for(server, config, tmp_path), setting: value}
    line = one_line_error(baton("sync", env=env))
    assert expected in line
    assert server.store.stats.write_calls["hubspot"] == 0
