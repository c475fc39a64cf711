"""Which mapping file Baton uses: `BATON_MAPPING_FILE`, else `config/mapping.yaml` in the
working directory, else the packaged default; and the one line that says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import DEFAULT_MAPPING, MappingSource, Settings
from mapping.config import load_mapping


@pytest.fixture(autouse=True)
def elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("BATON_MAPPING_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_outside_a_checkout_the_packaged_default_is_used() -> None:
    settings = Settings()
    assert settings.mapping_file == DEFAULT_MAPPING
    assert settings.mapping_source is MappingSource.PACKAGED
    assert settings.mapping_line() == f"mapping: {DEFAULT_MAPPING} (packaged default)"
    # The packaged file is package data next to the mapping code, and it loads.
    assert DEFAULT_MAPPING.parent.name == "mapping"
    assert "email" in load_mapping(settings.mapping_file).fields


def test_a_mapping_in_the_working_directory_comes_before_the_packaged_one(
    elsewhere: Path,
) -> None:
    (elsewhere / "config").mkdir()
    (elsewhere / "config" / "mapping.yaml").write_text(DEFAULT_MAPPING.read_text())
    settings = Settings()
    assert settings.mapping_file == Path("config/mapping.yaml")
    assert settings.mapping_line() == "mapping: config/mapping.yaml (working directory)"


def test_the_setting_comes_before_both(monkeypatch: pytest.MonkeyPatch, elsewhere: Path) -> None:
    (elsewhere / "config").mkdir()
    (elsewhere / "config" / "mapping.yaml").write_text(DEFAULT_MAPPING.read_text())
    monkeypatch.setenv("BATON_MAPPING_FILE", "/srv/baton/mapping.yaml")
    settings = Settings()
    assert settings.mapping_file == Path("/srv/baton/mapping.yaml")
    assert settings.mapping_source is MappingSource.SETTING
    assert settings.mapping_line() == "mapping: /srv/baton/mapping.yaml (BATON_MAPPING_FILE)"


def test_a_directory_named_like_the_mapping_is_not_taken_for_it(elsewhere: Path) -> None:
    (elsewhere / "config" / "mapping.yaml").mkdir(parents=True)
    assert Settings().mapping_source is MappingSource.PACKAGED
