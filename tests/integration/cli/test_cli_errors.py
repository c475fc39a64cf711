"""`baton sync` refuses bad settings with one line naming the setting, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest

from sandbox.server import SandboxConfig, SandboxServer


def baton(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(server: SandboxServer, config: SandboxConfig, tmp_path) -> dict[str, str]:
    return {
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "BATON_HUBSPOT_BASE_URL": server.url,
        "BATON_HUBSPOT_TOKEN": config.hubspot_token,
        "BATON_MAILCHIMP_BASE_URL": f"{server.url}/3.0",
        "BATON_MAILCHIMP_API_KEY": config.mailchimp_api_key,
        "BATON_MAILCHIMP_LIST_ID": config.list_id,
    }


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(overlap=2, hubspot_only=1, mailchimp_only=1)
    with SandboxServer(config) as server:
        yield server, config


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "missing", ["BATON_HUBSPOT_TOKEN", "BATON_MAILCHIMP_API_KEY", "BATON_MAILCHIMP_LIST_ID"]
)
def test_missing_credential_is_named(sandbox, tmp_path, missing: str) -> None:
    server, config = sandbox
    env = settings_for(server, config, tmp_path)
    del env[missing]
    assert missing in one_line_error(baton("sync", env=env))


def test_unreachable_url_is_named(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = settings_for(server, config, tmp_path)
    env["BATON_MAILCHIMP_BASE_URL"] = f"http://127.0.0.1:{free_port()}/3.0"
    line = one_line_error(baton("sync", env=env))
    assert "BATON_MAILCHIMP_BASE_URL" in line
    assert "cannot reach" in line


def test_wrong_token_blames_the_token_and_hides_it(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = settings_for(server, config, tmp_path)
    env["BATON_HUBSPOT_TOKEN"] = "wrong-secret-token"
    result = baton("sync", env=env)
    line = one_line_error(result)
    assert "BATON_HUBSPOT_TOKEN" in line
    assert "wrong-secret-token" not in result.stderr + result.stdout


def test_broken_mapping_file_is_named_with_its_line(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = settings_for(server, config, tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "version: 1\nfields:\n  email:\n    hubspot: email\n    mailchimp: email_address\n"
        "  shoe_size:\n    type: shoe\n    hubspot: shoe\n"
    )
    env["BATON_MAPPING_FILE"] = str(mapping)
    line = one_line_error(baton("sync", env=env))
    assert "BATON_MAPPING_FILE" in line
    assert f"{mapping}:7" in line
    assert "type" in line
    assert line.endswith("; run `baton mapping validate` to check the whole file")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BATON_SYNC_OVERLAP_SECONDS", "abc"),
        ("BATON_SYNC_OVERLAP_SECONDS", "-5"),
        ("BATON_SYNC_OVERLAP_SECONDS", "10"),  # shorter than the default search lag
        ("BATON_DATABASE_URL", "nope://x"),
        ("BATON_DATABASE_URL", "sqlite:////no-such-folder/baton.db"),
    ],
)
def test_bad_setting_values_are_named(sandbox, tmp_path, name: str, value: str) -> None:
    server, config = sandbox
    env = {**settings_for(server, config, tmp_path), name: value}
    for command in ("sync", "status"):
        assert name in one_line_error(baton(command, env=env))


def test_unknown_audience_blames_the_list_id(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = {**settings_for(server, config, tmp_path), "BATON_MAILCHIMP_LIST_ID": "nosuchlist"}
    assert "BATON_MAILCHIMP_LIST_ID" in one_line_error(baton("sync", env=env))


@pytest.mark.parametrize(
    ("wrong", "system"),
    [
        ("    hubspot: jobtitle\n", "hubspot"),
        ("    mailchimp: merge_fields.JOBTITLE\n", "mailchimp"),
    ],
)
def test_mapping_naming_a_field_the_system_lacks_stops_the_run(
    sandbox, tmp_path, wrong: str, system: str
) -> None:
    from flows.settings import DEFAULT_MAPPING

    server, config = sandbox
    text = DEFAULT_MAPPING.read_text()
    typo = wrong.replace("jobtitle", "jobtittle").replace("JOBTITLE", "JOBTITEL")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(text.replace(wrong, typo))
    field = typo.split(": ")[1].strip()
    line, column = next(
        (i, text_line.index(field) + 1)
        for i, text_line in enumerate(mapping.read_text().splitlines(), 1)
        if typo.strip() == text_line.strip()
    )
    env = {**settings_for(server, config, tmp_path), "BATON_MAPPING_FILE": str(mapping)}
    message = one_line_error(baton("sync", env=env))
    assert f"BATON_MAPPING_FILE: {mapping}:{line}:{column}: {system} has no field" in message
    assert "run `baton mapping apply`" in message
    stats = httpx.get(f"{server.url}/_sandbox/stats", timeout=5).json()
    assert stats["write_calls"] == {"hubspot": 0, "mailchimp": 0}


def test_email_base_url_without_the_api_path_blames_the_url(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = {**settings_for(server, config, tmp_path), "BATON_MAILCHIMP_BASE_URL": server.url}
    assert "BATON_MAILCHIMP_BASE_URL" in one_line_error(baton("sync", env=env))


def test_status_before_any_sync_says_so(sandbox, tmp_path) -> None:
    server, config = sandbox
    env = settings_for(server, config, tmp_path)
    line = one_line_error(baton("status", env=env))
    assert "BATON_DATABASE_URL" in line
    assert "no database" in line
    assert not (tmp_path / "cli.db").exists()
