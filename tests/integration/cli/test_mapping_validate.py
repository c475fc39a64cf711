"""`baton mapping validate [FILE] [--remote]`: every problem, one per line, file:line:col."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from flows.settings import DEFAULT_MAPPING
from sandbox.config import Preset
from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import baton, settings_for


def position(text: str, needle: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return f"{number}:{line.index(needle) + 1}"
    raise AssertionError(needle)


def test_every_problem_of_a_file_is_listed_one_per_line(tmp_path: Path) -> None:
    text = (
        DEFAULT_MAPPING.read_text()
        .replace("merge_fields.JOBTITLE", "merge_fields.JOB_TITLE_X")
        .replace("not_specified: transactional", "not_specified: subscribed")
        .replace("hubspot: company", "hubspot: firstname")
    )
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    result = baton("mapping", "validate", str(path), env={})
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    assert all(line.startswith(f"{path}:") for line in lines)
    tag = f"{path}:{position(text, 'merge_fields.JOB_TITLE_X')}: merge tag 'JOB_TITLE_X'"
    assert any(line.startswith(tag) for line in lines)
    assert any("'not_specified' may not be sent as 'subscribed'" in line for line in lines)
    assert any("already bound by 'first_name'" in line for line in lines)
    assert result.stderr.strip() == f"error: {path}: 3 problems"


@pytest.fixture(scope="module")
def customised():
    config = SandboxConfig(preset=Preset.CUSTOMISED, overlap=2, hubspot_only=1, mailchimp_only=1)
    with SandboxServer(config) as server:
        yield server, config


def portal_mapping() -> str:
    """The shipped mapping cut to what the customised portal has."""
    mapping = yaml.safe_load(DEFAULT_MAPPING.read_text())
    fields = mapping["fields"]
    del fields["job_title"]["mailchimp"]
    del fields["lifecycle_stage"]["mailchimp"]
    del fields["lead_source"]
    return yaml.safe_dump(mapping, sort_keys=False)


def test_remote_validation_passes_on_a_portal_with_every_field(customised, tmp_path) -> None:
    server, config = customised
    path = tmp_path / "mapping.yaml"
    path.write_text(portal_mapping())
    result = baton(
        "mapping", "validate", str(path), "--remote", env=settings_for(server, config, tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{path}: valid and both systems have its fields"


def contradicted(tmp_path: Path) -> tuple[Path, str]:
    """A mapping the customised portal contradicts three ways: a field it lacks, a type
    that cannot hold the value, a picklist value it does not offer."""
    text = (
        portal_mapping()
        .replace("cardiology: Cardiology", "cardiology: Cardiolgy")
        .replace("hubspot: phone", "hubspot: patient_volume")
        .replace("hubspot: jobtitle", "hubspot: jobtitel")
    )
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path, text


def test_remote_validation_lists_what_the_portal_contradicts(customised, tmp_path) -> None:
    server, config = customised
    path, text = contradicted(tmp_path)
    result = baton(
        "mapping", "validate", str(path), "--remote", env=settings_for(server, config, tmp_path)
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(
        [
            f"{path}:{position(text, 'patient_volume')}: hubspot field 'patient_volume' is of "
            "type 'number', which cannot hold 'phone' (phone values): bind a field of type "
            "'phone_number' or 'string'",
            f"{path}:{position(text, 'jobtitel')}: hubspot has no field 'jobtitel' (did you "
            "mean 'jobtitle'?): fix the name or run `baton mapping apply` to create it",
            f"{path}:{position(text, 'Cardiolgy')}: mailchimp field 'merge_fields.SERVICE' "
            "offers no 'Cardiolgy' (did you mean 'Cardiology'?): fix the value, or run "
            "`baton mapping apply` to add it to the field",
        ]
    )
    assert result.stderr.strip() == f"error: {path}: 3 problems"


def test_sync_refuses_what_remote_validation_lists(customised, tmp_path) -> None:
    """The pre-run check applies the rules of `validate --remote`: the same problems refuse
    the run, in one line naming the first, the count and the command that lists them."""
    server, config = customised
    path, text = contradicted(tmp_path)
    env = {**settings_for(server, config, tmp_path), "BATON_MAPPING_FILE": str(path)}
    httpx.post(f"{server.url}/_sandbox/stats/reset", timeout=5)
    validated = baton("mapping", "validate", "--remote", env=env)
    refused = baton("sync", env=env)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stdout + refused.stderr
    assert refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    first = validated.stdout.splitlines()[0]
    assert line == (
        f"error: BATON_MAPPING_FILE: {first} (and 2 more problems); "
        "run `baton mapping validate --remote` to list them all"
    )
    assert f"{path}:{position(text, 'patient_volume')}: " in validated.stdout
    writes = httpx.get(f"{server.url}/_sandbox/stats", timeout=5).json()["write_calls"]
    assert writes == {"hubspot": 0, "mailchimp": 0}
