from pathlib import Path

import pytest

from flows.settings import DEFAULT_MAPPING
from mapping.config import Direction, OwnerPolicy, load_mapping, parse_mapping
from mapping.errors import MappingConfigError
from mapping.schema import FieldType

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


def test_a_new_field_block_declares_a_canonical_field() -> None:
    text = BASE.replace(
        "  job_title:",
        "  shoe_size:\n    type: number\n    hubspot: shoe_size\n  job_title:",
    )
    spec = parse_mapping(text, "mapping.yaml").spec("shoe_size")
    assert spec.type is FieldType.NUMBER


def _declaring(block: str) -> str:
    return BASE.replace("  job_title:", block + "  job_title:")


@pytest.mark.parametrize(
    ("block", "needle", "message"),
    [
        ("  size:\n    type: strng\n    hubspot: size\n", "strng", "type"),
        ("  size:\n    type: enum\n    hubspot: size\n", "type: enum", "needs `choices"),
        (
            "  size:\n    type: enum\n    choices: [s, s]\n    hubspot: size\n",
            "choices: [s, s]",
            "lists a choice twice",
        ),
        (
            "  size:\n    choices: [s, m]\n    hubspot: size\n",
            "choices: [s, m]",
            "`choices` is for enum and multi_select",
        ),
        (
            "  size:\n    type: enum\n    choices: [s, m]\n    unmapped: default\n"
            "    hubspot: size\n",
            "unmapped: default",
            "needs `default: <choice>`",
        ),
        (
            "  size:\n    type: enum\n    choices: [s, m]\n    unmapped: default\n"
            "    default: xl\n    hubspot: size\n",
            "default: xl",
            "'xl' is not one of the choices",
        ),
        (
            "  size:\n    type: enum\n    choices: [s, m]\n    default: s\n    hubspot: size\n",
            "default: s",
            "only with `unmapped: default`",
        ),
        (
            "  size:\n    type: enum\n    choices: [s, m]\n    unmapped: drop\n    hubspot: size\n",
            "unmapped: drop",
            "unmapped",
        ),
        ("  size:\n    type: consent\n    hubspot: size\n", "type: consent", "belongs to"),
        (
            "  size:\n    hubspot: {field: size, transforms: [trim, shout]}\n",
            "shout",
            "unknown transform 'shout'",
        ),
        (
            "  size:\n    hubspot: {field: size, transforms: [{datetime: {tz: Mars/Base}}]}\n",
            "Mars/Base",
            "unknown time zone",
        ),
    ],
)
def test_a_bad_declaration_names_its_line(block: str, needle: str, message: str) -> None:
    text = _declaring(block)
    with pytest.raises(MappingConfigError) as info:
        parse_mapping(text, "mapping.yaml")
    line = line_of(text, "  size:") + line_of(block, needle) - 1
    assert str(info.value).startswith(f"mapping.yaml:{line}:"), str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize("built_in", ["email", "email_consent"])
def test_built_in_fields_keep_their_type(built_in: str) -> None:
    text = BASE.replace(f"  {built_in}:\n", f"  {built_in}:\n    type: string\n")
    with pytest.raises(MappingConfigError, match="is built in"):
        parse_mapping(text, "m.yaml")


def test_unknown_phone_region_is_refused() -> None:
    with pytest.raises(MappingConfigError, match="phone region 'XX'"):
        parse_mapping(BASE, "m.yaml", phone_region="XX")


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
        "    hubspot: jobtitle\n    mailchimp: merge_fields.JOBTITLE\n",
        "    sensitive: true\n    hubspot: jobtitle\n"
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
    with pytest.raises(MappingConfigError, match=r"bad.yaml:\d+:\d+: not valid YAML"):
        load_mapping(bad)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MappingConfigError, match=r"nope\.yaml: cannot read"):
        load_mapping(tmp_path / "nope.yaml")
