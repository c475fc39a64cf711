"""`validate --remote` rules: the mapping against a portal's field definitions."""

from __future__ import annotations

from dataclasses import replace

from connectors.fields import FieldInfo
from flows.settings import DEFAULT_MAPPING
from mapping.config import MappingConfig, check_mapping
from mapping.validation import PortalFields, check_remote

BASE = DEFAULT_MAPPING.read_text()
FILE = "mapping.yaml"
# canonical type -> (HubSpot type, Mailchimp type) a fitting field has.
KINDS = {
    "string": ("string", "text"),
    "email": ("string", "email"),
    "phone": ("string", "phone"),
    "enum": ("enumeration", "dropdown"),
    "consent": ("bool", "status"),
}


def portal(config: MappingConfig) -> dict[str, PortalFields]:
    """A portal holding exactly what `config` needs, every value offered."""
    portals = {}
    for index, system in enumerate(("hubspot", "mailchimp")):
        fields = []
        for name, binding in config.bound(system):
            spec = config.spec(name)
            options = None
            if spec.choices:
                written = binding.values or {c: c for c in spec.choices}
                options = tuple(dict.fromkeys(written.values()))
            fields.append(
                FieldInfo(binding.field, name, KINDS[str(spec.type)][index], options=options)
            )
        portals[system] = PortalFields(tuple(fields))
    return portals


def with_field(portals: dict[str, PortalFields], system: str, info: FieldInfo) -> None:
    kept = [f for f in portals[system].fields if f.name != info.name]
    portals[system] = replace(portals[system], fields=(*kept, info))


def remote(text: str, portals: dict[str, PortalFields] | None = None) -> list[str]:
    checked = check_mapping(text, FILE)
    assert checked.config is not None and checked.source is not None
    assert not checked.problems, [str(p) for p in checked.problems]
    source = checked.source
    found = check_remote(checked.config, portals or portal(checked.config))
    return [str(source.problem(f.loc, f.message, value=f.value)) for f in found]


def at(text: str, needle: str, occurrence: int = 1) -> str:
    """`file:line:col` of the `occurrence`-th `needle`."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return f"{FILE}:{number}:{line.index(needle) + 1}"
    raise AssertionError(needle)


def shipped() -> MappingConfig:
    config = check_mapping(BASE, FILE).config
    assert config is not None
    return config


def test_a_portal_with_every_field_and_value_passes() -> None:
    assert remote(BASE) == []


def test_unknown_property_suggests_the_closest_name() -> None:
    text = BASE.replace("hubspot: jobtitle", "hubspot: jobtitel")
    portals = portal(shipped())
    assert remote(text, portals) == [
        f"{at(text, 'jobtitel')}: hubspot has no field 'jobtitel' (did you mean 'jobtitle'?): "
        "fix the name or run `baton mapping apply` to create it"
    ]


def test_unknown_merge_field_compares_tags_only() -> None:
    text = BASE.replace("merge_fields.JOBTITLE", "merge_fields.JOBTTLE")
    [problem] = remote(text, portal(shipped()))
    assert problem.startswith(f"{at(text, 'merge_fields.JOBTTLE')}: mailchimp has no field")
    assert "(did you mean 'merge_fields.JOBTITLE'?)" in problem


def test_read_only_property_written_to() -> None:
    portals = portal(shipped())
    portals["hubspot"] = replace(portals["hubspot"], read_only=frozenset({"company"}))
    assert remote(BASE, portals) == [
        f"{at(BASE, 'company')}: hubspot field 'company' is read-only and cannot be written "
        "(mapped for 'organization'): make the binding `direction: pull`"
    ]


def test_read_only_property_may_be_read() -> None:
    text = BASE.replace("hubspot: company", "hubspot: {field: company, direction: pull}")
    portals = portal(shipped())
    portals["hubspot"] = replace(portals["hubspot"], read_only=frozenset({"company"}))
    assert remote(text, portals) == []


def test_phone_into_a_number_field() -> None:
    portals = portal(shipped())
    with_field(portals, "mailchimp", FieldInfo("merge_fields.PHONE", "Phone", "number"))
    assert remote(BASE, portals) == [
        f"{at(BASE, 'merge_fields.PHONE')}: mailchimp field 'merge_fields.PHONE' is of type "
        "'number', which cannot hold 'phone' (phone values): bind a field of type 'phone' or "
        "'text'"
    ]


def test_dropdown_choices_not_covering_the_enum() -> None:
    portals = portal(shipped())
    options = ("Cardiology", "Orthopedics", "Behavioral Health", "Primary Care", "Oncology")
    with_field(
        portals,
        "mailchimp",
        FieldInfo("merge_fields.SERVICE", "Service", "dropdown", options=options),
    )
    assert remote(BASE, portals) == [
        f"{at(BASE, 'Dermatology')}: mailchimp field 'merge_fields.SERVICE' offers no "
        "'Dermatology': fix the value, or run `baton mapping apply` to add it to the field",
        f"{at(BASE, 'Telehealth')}: mailchimp field 'merge_fields.SERVICE' offers no "
        "'Telehealth': fix the value, or run `baton mapping apply` to add it to the field",
    ]


def test_enum_written_as_is_points_at_the_choice() -> None:
    portals = portal(shipped())
    options = ("cardiology", "orthopedics", "behavioral_health", "primary_care", "dermatology")
    with_field(
        portals, "hubspot", FieldInfo("service_line", "Service", "enumeration", options=options)
    )
    found = remote(BASE, portals)
    assert found == [
        f"{at(BASE, 'oncology,')}: hubspot field 'service_line' offers no 'oncology' (a choice "
        "of 'service_line', written as it is): map it under `values:`, or run "
        "`baton mapping apply` to add it to the field",
        f"{at(BASE, 'telehealth]')}: hubspot field 'service_line' offers no 'telehealth' (a "
        "choice of 'service_line', written as it is): map it under `values:`, or run "
        "`baton mapping apply` to add it to the field",
    ]


def test_vendor_value_the_portal_does_not_offer_suggests_the_closest() -> None:
    # Today `Cardiolgy` passed and was written.
    text = BASE.replace("cardiology: Cardiology", "cardiology: Cardiolgy")
    assert remote(text, portal(shipped())) == [
        f"{at(text, 'Cardiolgy')}: mailchimp field 'merge_fields.SERVICE' offers no "
        "'Cardiolgy' (did you mean 'Cardiology'?): fix the value, or run "
        "`baton mapping apply` to add it to the field"
    ]


def test_every_remote_problem_is_reported() -> None:
    text = BASE.replace("hubspot: jobtitle", "hubspot: jobtitel").replace(
        "cardiology: Cardiology", "cardiology: Cardiolgy"
    )
    portals = portal(shipped())
    with_field(portals, "mailchimp", FieldInfo("merge_fields.PHONE", "Phone", "number"))
    assert len(remote(text, portals)) == 3
