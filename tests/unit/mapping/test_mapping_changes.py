"""Mapping fingerprints and the diff between two mapping versions: what changed per field,
and whether the sync re-derives it from stored values, re-pulls it or only re-plans it."""

from __future__ import annotations

import copy
import random
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.settings import DEFAULT_MAPPING
from mapping.changes import ChangeKind, diff
from mapping.config import parse_mapping
from mapping.fingerprint import Document, document, field_prints, version_hash

SHIPPED_TEXT = DEFAULT_MAPPING.read_text()
SHIPPED: dict[str, Any] = yaml.safe_load(SHIPPED_TEXT)


def doc_of(data: dict[str, Any] | str) -> Document:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    return document(parse_mapping(text))


def edited(edit: Any) -> Document:
    data = copy.deepcopy(SHIPPED)
    edit(data["fields"])
    return doc_of(data)


BASE = doc_of(SHIPPED_TEXT)


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same data with every mapping's keys in another order (lists keep theirs)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@st.composite
def mappings(draw: st.DrawFn) -> dict[str, Any]:
    """Valid mappings around the shipped one: fields dropped, directions, transforms and
    value maps varied."""
    data = copy.deepcopy(SHIPPED)
    fields = data["fields"]
    for name in ["first_name", "last_name", "phone", "organization", "job_title"]:
        if draw(st.booleans()):
            del fields[name]
            continue
        block = fields[name]
        for system in ("hubspot", "mailchimp"):
            if draw(st.booleans()):
                steps = draw(
                    st.lists(st.sampled_from(["trim", "lower", "upper", "title"]), max_size=3)
                )
                block[system] = {"field": block[system], "transforms": steps}
    if draw(st.booleans()):
        values = fields["lead_source"]["mailchimp"]["values"]
        values["event"] = draw(st.sampled_from(["Event", "Events", "Trade show"]))
    return data


@settings(max_examples=40, deadline=None)
@given(mappings(), st.randoms(use_true_random=False))
def test_diff_of_a_mapping_with_itself_is_empty_in_any_key_order(
    data: dict[str, Any], rng: random.Random
) -> None:
    doc = doc_of(data)
    assert diff(doc, doc).empty
    reordered = doc_of(shuffled(data, rng))
    assert version_hash(reordered) == version_hash(doc)
    assert diff(doc, reordered).empty
    assert {n: p.digest for n, p in field_prints(reordered).items()} == {
        n: p.digest for n, p in field_prints(doc).items()
    }


@settings(max_examples=40, deadline=None)
@given(mappings(), mappings())
def test_a_diff_is_empty_exactly_when_the_versions_are_equal(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    change = diff(doc_of(a), doc_of(b))
    assert change.empty == (version_hash(doc_of(a)) == version_hash(doc_of(b)))


def test_defaults_spelled_out_and_aliases_are_the_same_version() -> None:
    spelled = SHIPPED_TEXT.replace(
        "    hubspot: firstname\n",
        "    hubspot:\n      field: firstname\n      direction: both\n",
    )
    assert spelled != SHIPPED_TEXT
    assert version_hash(doc_of(spelled)) == version_hash(BASE)

    def lower(fields: dict[str, Any]) -> None:
        fields["job_title"]["hubspot"] = {"field": "jobtitle", "transforms": ["lowercase"]}

    def lower_alias(fields: dict[str, Any]) -> None:
        fields["job_title"]["hubspot"] = {"field": "jobtitle", "transforms": ["lower"]}

    assert version_hash(edited(lower)) == version_hash(edited(lower_alias))


def test_a_value_map_toward_a_system_re_derives_from_it_and_re_plans() -> None:
    def rename(fields: dict[str, Any]) -> None:
        fields["lead_source"]["mailchimp"]["values"]["event"] = "Events & Conferences"

    change = diff(BASE, edited(rename))
    (field,) = change.fields
    assert field.name == "lead_source" and field.kind is ChangeKind.CHANGED
    assert field.parts == ("mailchimp.values",)
    assert field.rederive_from == ("mailchimp",)
    assert field.repull == () and field.replan
    assert change.old_version == version_hash(BASE) != change.new_version


def test_a_value_map_of_a_push_only_binding_only_re_plans() -> None:
    def relabel(fields: dict[str, Any]) -> None:
        fields["lifecycle_stage"]["mailchimp"]["values"]["mql"] = "Marketing qualified"

    (field,) = diff(BASE, edited(relabel)).fields
    assert field.parts == ("mailchimp.values",)
    assert field.rederive_from == () and field.repull == () and field.replan


def test_a_read_transform_re_derives_from_the_stored_value_of_that_system() -> None:
    def upper(fields: dict[str, Any]) -> None:
        fields["organization"]["hubspot"] = {"field": "company", "transforms": ["upper"]}

    change = diff(BASE, edited(upper))
    assert change.rederive == {"organization": ("hubspot",)}
    assert change.repull == {} and change.replan == ("organization",)


def test_choices_re_derive_from_every_system_that_is_read() -> None:
    def more(fields: dict[str, Any]) -> None:
        fields["service_line"]["choices"].append("pediatrics")
        fields["service_line"]["mailchimp"]["values"]["pediatrics"] = "Pediatrics"

    (field,) = diff(BASE, edited(more)).fields
    assert field.parts == ("choices", "mailchimp.values")
    assert field.rederive_from == ("hubspot", "mailchimp")


def test_a_newly_bound_vendor_field_is_re_pulled_from_that_system_only() -> None:
    def add(fields: dict[str, Any]) -> None:
        fields["city"] = {"policy": "newest", "hubspot": "city", "mailchimp": "merge_fields.CITY"}

    change = diff(BASE, edited(add))
    (field,) = change.fields
    assert field.kind is ChangeKind.ADDED
    assert change.repull == {"hubspot": ("city",), "mailchimp": ("city",)}
    assert field.rederive_from == ()


def test_a_vendor_field_bound_before_is_re_derived_not_re_pulled() -> None:
    def rename(fields: dict[str, Any]) -> None:
        fields["title"] = fields.pop("job_title")

    change = diff(BASE, edited(rename))
    kinds = {c.name: c.kind for c in change.fields}
    assert kinds == {"job_title": ChangeKind.REMOVED, "title": ChangeKind.ADDED}
    assert change.rederive == {"title": ("hubspot", "mailchimp")}
    assert change.repull == {}
    removed = next(c for c in change.fields if c.name == "job_title")
    assert removed.needs_nothing


def test_writes_only_direction_or_policy_or_sensitive() -> None:
    def push_only(fields: dict[str, Any]) -> None:
        fields["job_title"]["mailchimp"] = {"field": "merge_fields.JOBTITLE", "direction": "push"}

    (field,) = diff(BASE, edited(push_only)).fields
    assert field.parts == ("mailchimp.direction",)
    assert field.needs_nothing  # still written the same way; Baton just stops reading it

    def pull_only(fields: dict[str, Any]) -> None:
        fields["job_title"]["mailchimp"] = {"field": "merge_fields.JOBTITLE", "direction": "pull"}

    (field,) = diff(BASE, edited(pull_only)).fields
    assert field.rederive_from == () and field.repull == () and field.replan

    def push_then_both(fields: dict[str, Any]) -> None:
        fields["lifecycle_stage"]["mailchimp"]["direction"] = "both"

    (field,) = diff(BASE, edited(push_then_both)).fields
    assert field.rederive_from == ("mailchimp",)  # its stored copy is read from now on

    def owner(fields: dict[str, Any]) -> None:
        fields["job_title"]["policy"] = {"owner": "hubspot"}

    (field,) = diff(BASE, edited(owner)).fields
    assert field.parts == ("policy",) and field.needs_nothing

    def sensitive(fields: dict[str, Any]) -> None:
        fields["job_title"]["sensitive"] = True
        fields["job_title"]["mailchimp"] = {"field": "merge_fields.JOBTITLE", "direction": "pull"}

    (field,) = diff(BASE, edited(sensitive)).fields
    assert set(field.parts) == {"sensitive", "mailchimp.direction"}
    assert field.replan and field.rederive_from == ()


def test_consent_and_identity_are_never_re_derived() -> None:
    def consent(fields: dict[str, Any]) -> None:
        fields["email_consent"]["mailchimp"]["read_values"]["archived"] = "opted_out"

    (field,) = diff(BASE, edited(consent)).fields
    assert field.name == "email_consent"
    assert field.rederive_from == () and field.repull == () and field.replan


def test_a_phone_region_change_re_derives_phone_fields() -> None:
    regional = document(parse_mapping(SHIPPED_TEXT, phone_region="GB"))
    change = diff(BASE, regional)
    assert change.rederive == {"phone": ("hubspot", "mailchimp")}


def test_no_earlier_version_means_nothing_to_do() -> None:
    change = diff(None, BASE)
    assert change.empty and change.old_version is None
    assert change.new_version == version_hash(BASE)
