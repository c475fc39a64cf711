"""Reading and writing declared fields: unmapped enum values, typed values, whole names,
constants and each vendor's rendering."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.settings import DEFAULT_MAPPING
from mapping.config import MappingConfig, parse_mapping
from mapping.errors import FieldRejected
from mapping.merge import FieldState
from mapping.plan import plan_fields
from mapping.translate import read_record, to_canonical, translate_record

BASE = DEFAULT_MAPPING.read_text()
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def with_fields(block: str, **replace: str) -> MappingConfig:
    text = BASE.replace("fields:\n", "fields:\n" + block, 1)
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_mapping(text, "m.yaml")


def service_line(unmapped: str) -> MappingConfig:
    return parse_mapping(
        BASE.replace(
            "  service_line:\n    type: enum\n", f"  service_line:\n    type: enum\n{unmapped}"
        ),
        "m.yaml",
    )


def read(config: MappingConfig, system: str, name: str, raw: object) -> str | None:
    binding = config.fields[name].bindings[system]
    return to_canonical(config.spec(name), binding, raw)  # type: ignore[arg-type]


def test_an_unmapped_value_is_kept_by_default(mapping: MappingConfig) -> None:
    assert read(mapping, "hubspot", "service_line", "neurology") == "neurology"
    assert read(mapping, "mailchimp", "service_line", "Neurology") == "Neurology"


def test_an_unmapped_value_can_become_the_default() -> None:
    config = service_line("    unmapped: default\n    default: primary_care\n")
    assert read(config, "mailchimp", "service_line", "Neurology") == "primary_care"
    assert read(config, "hubspot", "service_line", "neurology") == "primary_care"
    assert read(config, "mailchimp", "service_line", "Oncology") == "oncology"


def test_an_unmapped_value_can_dead_letter_that_field_only() -> None:
    config = service_line("    unmapped: dead_letter\n")
    record = {"email": "a@x.org", "firstname": "Ana", "service_line": "neurology"}
    reading = read_record(config, "hubspot", record)
    assert reading.email == "a@x.org"
    assert reading.values["first_name"] == "Ana"
    assert "service_line" not in reading.values
    [rejected] = reading.rejected
    assert rejected.field == "service_line"
    assert rejected.value == "neurology"
    assert "'neurology' has no canonical value" in str(rejected)


def test_a_kept_value_is_held_but_never_sent(mapping: MappingConfig) -> None:
    reading = translate_record(mapping, "hubspot", {"service_line": "neurology"})
    assert reading.values["service_line"] == "neurology"
    assert reading.kept == ["service_line"]
    state = {"service_line": FieldState("neurology", "hubspot", T0)}
    # Neither side is sent a value the mapping does not list: a picklist would refuse it,
    # and with it the whole write.
    assert "merge_fields.SERVICE" not in plan_fields(mapping, "mailchimp", state, {})
    assert plan_fields(mapping, "hubspot", state, {}) == {}


def test_an_unknown_consent_status_is_never_guessed(mapping: MappingConfig) -> None:
    with pytest.raises(FieldRejected, match="no canonical value"):
        read(mapping, "mailchimp", "email_consent", "maybe")


def test_a_value_a_type_cannot_hold_is_a_field_dead_letter() -> None:
    config = with_fields("  visits:\n    type: number\n    hubspot: visits\n")
    reading = translate_record(config, "hubspot", {"visits": "lots", "firstname": "Ana"})
    assert reading.values["first_name"] == "Ana"
    [rejected] = reading.rejected
    assert rejected.field == "visits" and rejected.value == "lots"
    assert "is not a number" in str(rejected)


def test_the_phone_region_setting_reads_local_numbers() -> None:
    text = BASE
    config = parse_mapping(text, "m.yaml", phone_region="GB")
    assert read(config, "hubspot", "phone", "020 7946 0958") == "+442079460958"


def test_transforms_run_before_the_type() -> None:
    config = with_fields(
        "  seen_on:\n    type: date\n"
        "    mailchimp: {field: merge_fields.SEEN, transforms: [{date: '%m/%d/%Y'}]}\n"
    )
    assert read(config, "mailchimp", "seen_on", "03/01/2026") == "2026-03-01"
    state = {"seen_on": FieldState("2026-12-24", "hubspot", T0)}
    assert plan_fields(config, "mailchimp", state, {})["merge_fields.SEEN"] == "12/24/2026"


def test_booleans_and_multi_selects_have_one_canonical_form() -> None:
    config = with_fields(
        "  portal_user:\n    policy: newest\n    type: boolean\n    hubspot: portal_user\n"
        "    mailchimp: {field: merge_fields.PORTAL, values: {'true': 'Yes', 'false': 'No'}}\n"
        "  interests:\n    policy: newest\n    type: multi_select\n"
        "    choices: [diet, sleep, sport]\n"
        "    hubspot: interests\n    mailchimp: merge_fields.INTERESTS\n"
    )
    assert read(config, "hubspot", "portal_user", "true") == "true"
    assert read(config, "hubspot", "portal_user", "Yes") == "true"
    assert read(config, "mailchimp", "portal_user", "No") == "false"
    assert read(config, "hubspot", "interests", "sport;diet") == "diet;sport"
    assert read(config, "mailchimp", "interests", "sport, diet") == "diet;sport"
    state = {
        "portal_user": FieldState("true", "hubspot", T0),
        "interests": FieldState("diet;sport", "hubspot", T0),
    }
    assert plan_fields(config, "mailchimp", state, {}) == {
        "merge_fields.PORTAL": "Yes",
        "merge_fields.INTERESTS": "diet, sport",  # Mailchimp keeps them in a text field
    }
    assert plan_fields(config, "hubspot", state, {}) == {
        "portal_user": "true",
        "interests": "diet;sport",
    }
    # Reading back what was written plans nothing.
    shadow = {"merge_fields.PORTAL": "Yes", "merge_fields.INTERESTS": "diet, sport"}
    shadow["status"] = "transactional"
    assert plan_fields(config, "mailchimp", state, shadow) == {}


def test_numbers_and_datetimes_as_each_vendor_takes_them() -> None:
    config = with_fields(
        "  visits:\n    type: number\n    policy: newest\n    hubspot: visits\n"
        "    mailchimp: merge_fields.VISITS\n"
        "  seen_at:\n    policy: newest\n    type: datetime\n    hubspot: seen_at\n"
        "    mailchimp: merge_fields.SEENAT\n"
    )
    state = {
        "visits": FieldState("12", "hubspot", T0),
        "seen_at": FieldState("2026-03-01T14:30:00Z", "hubspot", T0),
    }
    assert plan_fields(config, "mailchimp", state, {"status": "transactional"}) == {
        "merge_fields.VISITS": 12,
        "merge_fields.SEENAT": "2026-03-01T14:30:00Z",
    }
    assert plan_fields(config, "hubspot", state, {}) == {
        "visits": "12",
        "seen_at": "2026-03-01T14:30:00.000Z",
    }
    shadow = {"visits": "12.0", "seen_at": "1772375400000"}
    assert plan_fields(config, "hubspot", state, shadow) == {}


def test_a_whole_name_splits_into_first_and_last_and_joins_back() -> None:
    config = parse_mapping(
        BASE.replace(
            "    mailchimp: merge_fields.FNAME\n",
            "    mailchimp: {field: merge_fields.NAME, transforms: [{split_name: first}]}\n",
        ).replace(
            "    mailchimp: merge_fields.LNAME\n",
            "    mailchimp: {field: merge_fields.NAME, transforms: [{split_name: last}]}\n",
        ),
        "m.yaml",
    )
    reading = translate_record(config, "mailchimp", {"merge_fields.NAME": "Maria de la Cruz"})
    assert reading.values["first_name"] == "Maria"
    assert reading.values["last_name"] == "de la Cruz"
    state = {
        "first_name": FieldState("Maria", "hubspot", T0),
        "last_name": FieldState("Lopez", "hubspot", T0),
    }
    shadow = {"merge_fields.NAME": "Maria de la Cruz", "status": "transactional"}
    assert plan_fields(config, "mailchimp", state, shadow) == {"merge_fields.NAME": "Maria Lopez"}
    shadow["merge_fields.NAME"] = "Maria Lopez"
    assert plan_fields(config, "mailchimp", state, shadow) == {}


def test_a_constant_is_always_written() -> None:
    config = with_fields(
        "  source_system:\n"
        "    mailchimp:\n      field: merge_fields.ORIGIN\n      direction: push\n"
        "      transforms: [{constant: CRM}]\n"
    )
    assert plan_fields(config, "mailchimp", {}, {"status": "transactional"}) == {
        "merge_fields.ORIGIN": "CRM"
    }
    shadow = {"status": "transactional", "merge_fields.ORIGIN": "CRM"}
    assert plan_fields(config, "mailchimp", {}, shadow) == {}


TYPED = with_fields(
    "".join(
        f"  f_{kind}:\n    type: {kind}\n{extra}    policy: newest\n    hubspot: f_{kind}\n"
        f"    mailchimp: merge_fields.F{n}\n"
        for n, (kind, extra) in enumerate(
            [
                ("string", ""),
                ("phone", ""),
                ("number", ""),
                ("boolean", ""),
                ("date", ""),
                ("datetime", ""),
                ("enum", "    choices: [a, b, c]\n"),
                ("multi_select", "    choices: [a, b, c]\n"),
            ]
        )
    )
)
CANONICAL = {
    "string": st.from_regex(r"\A[A-Za-z0-9]+( [A-Za-z0-9]+){0,3}\Z"),
    "phone": st.sampled_from(["+16175550134", "+442079460958", "+33142685300"]),
    "number": st.decimals(allow_nan=False, allow_infinity=False, places=3, max_value=10**9).map(
        lambda d: __import__("mapping.types", fromlist=["x"]).normal_number(str(d))
    ),
    "boolean": st.sampled_from(["true", "false"]),
    "date": st.dates().map(lambda d: d.isoformat()),
    "datetime": st.datetimes(timezones=st.just(UTC)).map(
        lambda d: __import__("mapping.types", fromlist=["x"]).normal_datetime(d.isoformat())
    ),
    "enum": st.sampled_from(["a", "b", "c"]),
    "multi_select": st.sets(st.sampled_from(["a", "b", "c"]), min_size=1).map(
        lambda s: ";".join(sorted(s))
    ),
}


@given(st.sampled_from(sorted(CANONICAL)), st.data(), st.sampled_from(["hubspot", "mailchimp"]))
def test_every_type_reads_back_what_baton_writes(
    kind: str, data: st.DataObject, system: str
) -> None:
    name = f"f_{kind}"
    value = data.draw(CANONICAL[kind])
    written = plan_fields(TYPED, system, {name: FieldState(value, "x", T0)}, {})
    binding = TYPED.fields[name].bindings[system]
    assert read(TYPED, system, name, written[binding.field]) == value
    # ...and a second plan over what the system now holds writes nothing.
    assert plan_fields(TYPED, system, {name: FieldState(value, "x", T0)}, written) == {}
