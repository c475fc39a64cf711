"""The starter mapping: standard fields and similar custom fields pair, enum choices come
from the portal, and whatever the portal holds, nothing sensitive is bound toward the
marketing system and nothing read-only is bound for writing."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.fields import FieldInfo
from connectors.hubspot_fields import CONSENT_BINDING as HS_CONSENT
from connectors.hubspot_fields import STANDARD_FIELDS as HS_STANDARD
from connectors.mailchimp_fields import CONSENT_BINDING as MC_CONSENT
from connectors.mailchimp_fields import MEMBER_FIELDS
from connectors.mailchimp_fields import STANDARD_FIELDS as MC_STANDARD
from mapping.config import parse_mapping
from mapping.starter import SystemFields, build_starter, render

HS_BASE = [
    FieldInfo("email", "Email", "string", canonical_type="string"),
    FieldInfo("firstname", "First Name", "string", canonical_type="string"),
    FieldInfo("lastname", "Last Name", "string", canonical_type="string"),
    FieldInfo("company", "Company Name", "string", canonical_type="string"),
    FieldInfo("jobtitle", "Job Title", "string", canonical_type="string"),
    FieldInfo("hs_email_optout", "Unsubscribed", "bool", ("true", "false"), read_only=True),
]
MC_BASE = [
    *MEMBER_FIELDS,
    FieldInfo("merge_fields.FNAME", "First Name", "text", canonical_type="string"),
    FieldInfo("merge_fields.LNAME", "Last Name", "text", canonical_type="string"),
]


def _systems(hubspot: list[FieldInfo], mailchimp: list[FieldInfo]) -> list[SystemFields]:
    return [
        SystemFields("hubspot", [*HS_BASE, *hubspot], HS_STANDARD, HS_CONSENT),
        SystemFields("mailchimp", [*MC_BASE, *mailchimp], MC_STANDARD, MC_CONSENT, True),
    ]


def test_similar_fields_pair_and_standard_fields_find_their_counterpart() -> None:
    starter = build_starter(
        _systems(
            [
                FieldInfo(
                    "clinic_region", "Clinic region", "string", custom=True, canonical_type="string"
                )
            ],
            [
                FieldInfo("merge_fields.COMPANY", "Company", "text", canonical_type="string"),
                FieldInfo(
                    "merge_fields.REGION",
                    "Clinic region",
                    "text",
                    custom=True,
                    canonical_type="string",
                ),
                FieldInfo(
                    "merge_fields.SHOE", "Shoe size", "number", custom=True, canonical_type="number"
                ),
            ],
        )
    )
    blocks = starter.blocks
    assert blocks["organization"] == {
        "policy": "newest",
        "hubspot": "company",
        "mailchimp": "merge_fields.COMPANY",
    }
    assert blocks["clinic_region"] == {
        "policy": "newest",
        "hubspot": "clinic_region",
        "mailchimp": "merge_fields.REGION",
    }
    assert blocks["job_title"] == {"hubspot": "jobtitle"}
    assert blocks["email_consent"]["policy"] == "consent"
    assert [f.name for f in starter.unpaired["mailchimp"]] == ["merge_fields.SHOE"]
    parse_mapping(render(starter))  # the file it writes loads


def test_enum_choices_come_from_the_crm_and_options_one_side_lacks_are_kept() -> None:
    starter = build_starter(
        _systems(
            [
                FieldInfo(
                    "tier",
                    "Tier",
                    "enumeration",
                    ("gold", "silver"),
                    ("Gold", "Silver"),
                    custom=True,
                    canonical_type="enum",
                )
            ],
            [
                FieldInfo(
                    "merge_fields.TIER",
                    "Tier",
                    "dropdown",
                    ("Gold", "Bronze"),
                    ("Gold", "Bronze"),
                    custom=True,
                    canonical_type="enum",
                )
            ],
        )
    )
    block = starter.blocks["tier"]
    assert block["type"] == "enum"
    assert block["choices"] == ["gold", "silver", "bronze"]
    assert block["mailchimp"]["values"] == {"gold": "Gold", "silver": "Silver", "bronze": "Bronze"}
    assert block["hubspot"] == "tier"
    assert "baton mapping apply" in " ".join(starter.notes["tier"])
    parse_mapping(render(starter))


def test_a_picklist_pairs_with_a_text_field_that_gets_its_labels_written_only() -> None:
    starter = build_starter(
        _systems(
            [
                FieldInfo(
                    "lifecyclestage",
                    "Lifecycle Stage",
                    "enumeration",
                    ("lead", "mql"),
                    ("Lead", "Marketing Qualified Lead"),
                    canonical_type="enum",
                )
            ],
            [
                FieldInfo(
                    "merge_fields.STAGE",
                    "Lifecycle Stage",
                    "text",
                    custom=True,
                    canonical_type="string",
                )
            ],
        )
    )
    block = starter.blocks["lifecycle_stage"]
    assert block["choices"] == ["lead", "mql"]
    assert block["hubspot"] == "lifecyclestage"
    assert block["mailchimp"] == {
        "field": "merge_fields.STAGE",
        "direction": "push",
        "values": {"lead": "Lead", "mql": "Marketing Qualified Lead"},
    }
    assert "policy" not in block and "lifecycle_stage" not in starter.notes
    parse_mapping(render(starter))


def test_a_clinical_field_stays_in_the_crm_and_a_read_only_one_is_pulled() -> None:
    starter = build_starter(
        _systems(
            [
                FieldInfo(
                    "primary_diagnosis",
                    "Primary diagnosis",
                    "string",
                    custom=True,
                    canonical_type="string",
                ),
                FieldInfo("hs_region", "Region", "string", read_only=True, canonical_type="string"),
            ],
            [
                FieldInfo(
                    "merge_fields.DIAGNOSIS",
                    "Primary diagnosis",
                    "text",
                    custom=True,
                    canonical_type="string",
                ),
                FieldInfo(
                    "merge_fields.REGION", "Region", "text", custom=True, canonical_type="string"
                ),
            ],
        )
    )
    assert starter.blocks["primary_diagnosis"] == {
        "sensitive": True,
        "hubspot": "primary_diagnosis",
    }
    assert starter.blocks["region"]["hubspot"] == {"field": "hs_region", "direction": "pull"}
    parse_mapping(render(starter))


_words = st.text(string.ascii_lowercase + "_ ", min_size=1, max_size=14).filter(str.strip)
_clinical = st.sampled_from(["diagnosis", "medication", "patient_id", "allergies", "mrn"])
_types = st.sampled_from(["string", "number", "enum", "date", "phone"])


@st.composite
def _field(draw: st.DrawFn, system: str) -> FieldInfo:
    words = draw(_words)
    if draw(st.booleans()):
        words = f"{words} {draw(_clinical)}"
    kind = draw(_types)
    options = tuple(draw(st.lists(_words, min_size=1, max_size=3, unique=True)))
    slug = "".join(c for c in words.upper() if c.isalpha())[:10] or "X"
    name = f"merge_fields.{slug}" if system == "mailchimp" else words.replace(" ", "_")
    return FieldInfo(
        name,
        words,
        kind,
        options if kind == "enum" else None,
        options if kind == "enum" else (),
        read_only=draw(st.booleans()),
        custom=True,
        canonical_type=kind,
    )


def _mirror(info: FieldInfo, read_only: bool) -> FieldInfo:
    """The same field as the audience would hold it (a merge tag from its label)."""
    tag = "".join(c for c in info.label.upper() if c.isalpha())[:10] or "X"
    return FieldInfo(
        f"merge_fields.{tag}",
        info.label,
        info.type,
        info.options,
        info.option_labels,
        read_only=read_only,
        custom=True,
        canonical_type=info.canonical_type,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_field("hubspot"), max_size=5, unique_by=lambda f: f.name),
    st.lists(_field("mailchimp"), max_size=3, unique_by=lambda f: f.name),
    st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_no_portal_gets_a_sensitive_field_to_marketing_or_a_write_to_a_read_only_one(
    hubspot: list[FieldInfo], mailchimp: list[FieldInfo], mirrored: list[bool]
) -> None:
    # Most audience fields mirror a CRM field, so that they pair.
    mirrors = {
        m.name: m for f, ro in zip(hubspot, mirrored, strict=False) for m in [_mirror(f, ro)]
    }
    extra = [f for f in mailchimp if f.name not in mirrors]
    systems = _systems(hubspot, [*mirrors.values(), *extra])
    starter = build_starter(systems)
    infos = {(s.system, f.name): f for s in systems for f in s.fields}
    config = parse_mapping(render(starter))  # also refuses a sensitive binding itself
    for name, fm in config.fields.items():
        for system, binding in fm.bindings.items():
            info = infos[(system, binding.field)]
            if info.read_only and name != "email_consent":
                assert not binding.pushes
            if system == "mailchimp" and binding.pushes:
                assert not fm.sensitive
                assert not any(
                    term in info.label for term in ("diagnosis", "medication", "patient", "mrn")
                )
