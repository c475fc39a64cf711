from pathlib import Path

import pytest

from flows.settings import DEFAULT_MAPPING
from mapping.config import Direction, OwnerPolicy, load_mapping, parse_mapping
from mapping.errors import MappingConfigError

BASE = DEFAULT_MAPPING.read_text()


def test_default_mapping_loads_every_required_field() -> None:
    config = load_mapping(DEFAULT_MAPPING)
    assert set(config.fields) >= {
        "email",
        "first_name",
        "last_name",
        "phone",
        "organization",
        "job_title",
        "service_line",
        "lead_source",
        "email_consent",
        "lifecycle_stage",
    }
    assert config.fields["lifecycle_stage"].policy == OwnerPolicy(owner="hubspot")
    assert config.fields["lifecycle_stage"].bindings["hubspot"].direction is Direction.PULL
    assert "merge_fields.FNAME" in config.vendor_fields("mailchimp")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_canonical_field_names_file_and_line() -> None:
    text = BASE.replace("  job_title:", "  job_titel:")
    with pytest.raises(MappingConfigError) as info:
        parse_mapping(text, "mapping.yaml")
    assert str(info.value).startswith(f"mapping.yaml:{line_of(text, 'job_titel')}:")
    assert "job_titel" in str(info.value)


def test_bad_direction_points_at_its_line() -> None:
    text = BASE.replace("direction: push", "direction: sideways")
    with pytest.raises(MappingConfigError) as info:
        parse_mapping(text, "m.yaml")
    assert f"m.yaml:{line_of(text, 'sideways')}:" in str(info.value)
    assert "direction" in str(info.value)


def test_sensitive_field_may_not_reach_the_email_platform() -> None:
    text = BASE.replace("  job_title:\n", "  job_title:\n    sensitive: true\n")
    with pytest.raises(MappingConfigError, match=r"sensitive.*never be sent to mailchimp"):
        parse_mapping(text, "m.yaml")


def test_sensitive_field_may_be_pulled_from_the_email_platform() -> None:
    text = BASE.replace(
        "  job_title:\n    hubspot: jobtitle\n    mailchimp: merge_fields.JOBTITLE\n",
        "  job_title:\n    sensitive: true\n    hubspot: jobtitle\n"
        "    mailchimp: {field: merge_fields.JOBTITLE, direction: pull}\n",
    )
    assert parse_mapping(text).fields["job_title"].sensitive


def test_enum_value_outside_the_schema_is_rejected() -> None:
    text = BASE.replace("cardiology: Cardiology", "cardiologie: Cardiology")
    with pytest.raises(MappingConfigError, match="'cardiologie' is not a value"):
        parse_mapping(text, "m.yaml")


def test_many_to_one_values_need_read_values() -> None:
    text = BASE.replace(
        '      read_values:\n        "true": opted_out\n        "false": not_specified\n', ""
    )
    with pytest.raises(MappingConfigError, match="read_values"):
        parse_mapping(text, "m.yaml")


def test_email_must_be_mapped_in_every_system() -> None:
    text = BASE.replace("    mailchimp: email_address\n", "")
    with pytest.raises(MappingConfigError, match="'email' must be mapped for mailchimp"):
        parse_mapping(text, "m.yaml")


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfields:\n  email: [unclosed\n")
    with pytest.raises(MappingConfigError, match=r"bad.yaml:\d+: not valid YAML"):
        load_mapping(bad)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MappingConfigError, match=r"nope\.yaml: cannot read"):
        load_mapping(tmp_path / "nope.yaml")
