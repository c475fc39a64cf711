"""Secrets are never echoed and bad settings end in one line naming the setting.

Each case runs the real CLI as a subprocess; the token and key (malformed ones
included) are then looked for in its output and in the state database file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import baton, one_line_error, settings_for


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(overlap=2, hubspot_only=1, mailchimp_only=1)
    with SandboxServer(config) as server:
        yield server, config


def stored_bytes(tmp_path: Path) -> bytes:
    """Everything Baton wrote under tmp_path: the database and its WAL files."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())


def assert_nowhere(secret: str, *texts: str, stored: bytes = b"") -> None:
    core = secret.strip()
    for text in texts:
        assert core not in text
    assert core.encode() not in stored


MALFORMED = {
    "newline": "pat-na1-0123456789abcdef\n",
    "inner newline": "pat-na1-0123\n456789abcdef",
    "spaces": "  pat-na1-0123456789abcdef ",
    "non-ASCII": "pat-na1-0123456789abcdéf",
}


@pytest.mark.parametrize("setting", ["BATON_HUBSPOT_TOKEN", "BATON_MAILCHIMP_API_KEY"])
@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_secret_is_named_never_shown(sandbox, tmp_path, setting: str, kind: str) -> None:
    server, config = sandbox
    secret = MALFORMED[kind]
    env = {**settings_for(server, config, tmp_path), setting: secret}
    result = baton("sync", env=env)
    line = one_line_error(result)
    assert line.startswith(f"error: {setting}: "), line
    assert "BASE_URL" not in line
    assert_nowhere(secret, result.stdout, result.stderr, stored=stored_bytes(tmp_path))


def test_replay_refuses_a_malformed_secret_too(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = {**settings_for(server, config, tmp_path), "BATON_HUBSPOT_TOKEN": MALFORMED["newline"]}
    result = baton("replay", env=env)
    assert one_line_error(result).startswith("error: BATON_HUBSPOT_TOKEN: ")
    assert_nowhere(MALFORMED["newline"], result.stdout, result.stderr)


def test_a_sync_stores_and_prints_no_secret(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = settings_for(server, config, tmp_path)
    results = [baton("sync", env=env), baton("status", env=env), baton("dead-letters", env=env)]
    assert [r.returncode for r in results] == [0, 0, 0], results[0].stderr
    stored = stored_bytes(tmp_path)
    assert b"SQLite format 3" in stored  # the database really is there to look in
    for secret in (config.hubspot_token, config.mailchimp_api_key):
        assert_nowhere(secret, *(r.stdout + r.stderr for r in results), stored=stored)


def test_a_refused_credential_is_named_never_shown(sandbox, tmp_path) -> None:
    server, config = sandbox
    wrong = "wrong-but-well-formed-key-us1"
    env = {**settings_for(server, config, tmp_path), "BATON_MAILCHIMP_API_KEY": wrong}
    result = baton("sync", env=env)
    assert "BATON_MAILCHIMP_API_KEY" in one_line_error(result)
    assert_nowhere(wrong, result.stdout, result.stderr, stored=stored_bytes(tmp_path))


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BATON_HUBSPOT_BASE_URL", "http://[::1", "not closed"),
        ("BATON_HUBSPOT_BASE_URL", "http://127.0.0.1:99999", "port 99999"),
        ("BATON_MAILCHIMP_BASE_URL", "http://[::1/3.0", "not closed"),
        ("BATON_MAILCHIMP_BASE_URL", "http://127.0.0.1:99999/3.0", "port 99999"),
        ("BATON_MAILCHIMP_BASE_URL", "127.0.0.1/3.0", "https://"),
        ("BATON_DATABASE_URL", "garbage", "not a database URL"),
        ("BATON_DATABASE_URL", "sqlite:///:memory:", "in-memory"),
        ("BATON_DATABASE_URL", "sqlite://", "in-memory"),
        ("BATON_DATABASE_URL", "postgresql://baton:pw-in-url@127.0.0.1/baton", "psycopg"),
        ("BATON_HTTP_READ_TIMEOUT_SECONDS", "0", "greater than 0"),
    ],
)
def test_bad_setting_is_one_line_naming_it(sandbox, tmp_path, name: str, value: str, says: str):
    server, config = sandbox
    env = {**settings_for(server, config, tmp_path), name: value}
    line = one_line_error(baton("sync", env=env))
    assert line.startswith(f"error: {name}: "), line
    assert says in line
    assert "pw-in-url" not in line
