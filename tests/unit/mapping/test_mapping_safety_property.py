"""No mapping file Baton accepts can subscribe anyone without recorded consent, drop an
opt-out, or carry a sensitive field to the email platform.

Mappings are generated around the shipped one (consent tables, policies, directions,
sensitive fields, shared vendor fields, duplicate blocks); for each one Baton accepts,
records from both systems go through translate, merge (both arrival orders) and plan,
and the writes planned for each system are checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flows.settings import DEFAULT_MAPPING
from mapping.config import MappingConfig, parse_mapping
from mapping.errors import MappingConfigError
from mapping.merge import ContactState, merge_incoming
from mapping.plan import plan_fields
from mapping.translate import translate_record

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SHIPPED: dict[str, Any] = yaml.safe_load(DEFAULT_MAPPING.read_text())
CONSENT = ["not_specified", "pending", "opted_in", "opted_out", "bounced"]
STATUSES = ["subscribed", "pending", "transactional", "archived", "unsubscribed", "cleaned"]
WITHDRAWN = {"unsubscribed", "cleaned"}
SECRET = "SECRET"  # every value of a field the generator marks sensitive holds this


@st.composite
def table(
    draw: st.DrawFn, shipped: dict[str, str], keys: list[str], values: list[str]
) -> dict[str, str]:
    """A value table near the shipped one: each entry mostly kept, sometimes changed to any
    value, now and then left out (mostly-valid tables keep accepted mappings common)."""
    out = {}
    for key in keys:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            continue
        if choice <= 3 or key not in shipped:
            out[key] = draw(st.sampled_from(values))
        else:
            out[key] = shipped[key]
    return out


def binding_toward_mailchimp(field: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            None,
            field,
            {"field": field, "direction": "pull"},
            {"field": field, "direction": "push"},
            "merge_fields.COMPANY",  # shared with `organization`
        ]
    )


@st.composite
def mappings(draw: st.DrawFn) -> tuple[str, set[str]]:
    """Mapping YAML, and the canonical fields its author meant to be sensitive."""
    data = yaml.safe_load(yaml.safe_dump(SHIPPED))
    fields = data["fields"]
    consent = fields["email_consent"]
    consent["policy"] = draw(
        st.sampled_from(
            [
                "consent",
                "consent",
                "consent",
                "newest",
                {"owner": "hubspot"},
                {"owner": "mailchimp"},
            ]
        )
    )
    mc, hs = consent["mailchimp"], consent["hubspot"]
    mc["values"] = draw(table(mc["values"], CONSENT, [*STATUSES, "unsubscibed"]))
    mc["read_values"] = draw(table(mc["read_values"], STATUSES, CONSENT))
    hs["values"] = draw(table(hs["values"], CONSENT, ["true", "false"]))
    hs["read_values"] = draw(table(hs["read_values"], ["true", "false"], CONSENT))
    for side in (mc, hs):
        direction = draw(st.sampled_from([None, None, None, "both", "pull", "push"]))
        if direction is not None:
            side["direction"] = direction

    sensitive = {"job_title", "diagnosis"}
    job = fields["job_title"]
    job["sensitive"] = True
    toward = draw(binding_toward_mailchimp("merge_fields.JOBTITLE"))
    if toward is None:
        job.pop("mailchimp", None)
    else:
        job["mailchimp"] = toward
    fields["organization"]["hubspot"] = draw(st.sampled_from(["company", "jobtitle"]))
    diagnosis: dict[str, Any] = {
        "sensitive": draw(st.sampled_from([True, "yes"])),
        "policy": "newest",
        "hubspot": "diagnosis",
    }
    toward = draw(binding_toward_mailchimp("merge_fields.DIAGNOSIS"))
    if toward is not None:
        diagnosis["mailchimp"] = toward
    fields["diagnosis"] = diagnosis
    text = yaml.safe_dump(data, sort_keys=False)
    if draw(st.integers(0, 3)) == 0:
        # A second block for the field, without `sensitive: true`: YAML alone keeps this one.
        text += (
            "  job_title:\n    policy: newest\n    hubspot: jobtitle\n"
            "    mailchimp: merge_fields.JOBTITLE\n"
        )
    return text, sensitive


CRM = st.fixed_dictionaries(
    {
        "email": st.just("pat@example.org"),
        "firstname": st.sampled_from(["Pat", None]),
        "company": st.sampled_from(["Acme Clinic", None]),
        "jobtitle": st.sampled_from([f"{SECRET} oncology nurse", None]),
        "diagnosis": st.sampled_from([f"{SECRET} E11.9", None]),
        "hs_email_optout": st.sampled_from(["true", "false", None]),
    }
)
MEMBER = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "email_address": st.just("Pat@Example.org"),
            "merge_fields.FNAME": st.sampled_from(["Pat", None]),
            "merge_fields.COMPANY": st.sampled_from(["Acme", None]),
            "status": st.sampled_from(STATUSES),
        }
    ),
)


def fold(
    config: MappingConfig, state: ContactState, system: str, fields: dict[str, Any], at: datetime
) -> ContactState:
    values = translate_record(config, system, fields).values
    return merge_incoming(config, system, values, fields, None, state, at).state


def accepted(text: str) -> MappingConfig | None:
    try:
        return parse_mapping(text, "generated.yaml")
    except MappingConfigError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=mappings(), crm=CRM, member=MEMBER, crm_first=st.booleans())
def test_no_accepted_mapping_breaks_consent_or_leaks_a_sensitive_field(
    mapping: tuple[str, set[str]],
    crm: dict[str, Any],
    member: dict[str, Any] | None,
    crm_first: bool,
) -> None:
    text, sensitive = mapping
    config = accepted(text)
    event("accepted" if config is not None else "rejected")
    if config is None:
        return
    # Whatever the file says, what its author marked sensitive is sensitive in Baton.
    assert all(config.spec(name).sensitive for name in sensitive if name in config.fields)

    arrivals = [("hubspot", crm, T0), ("mailchimp", member, T0 + timedelta(seconds=5))]
    if member is None:
        arrivals = arrivals[:1]
    if not crm_first:
        arrivals.reverse()
    state: ContactState = {}
    for system, record, at in arrivals:
        assert record is not None
        state = fold(config, state, system, record, at)

    to_mailchimp = plan_fields(config, "mailchimp", state, member)
    to_hubspot = plan_fields(config, "hubspot", state, crm)

    # Nothing sensitive in any write to the email platform.
    assert not [v for v in to_mailchimp.values() if SECRET in str(v)], to_mailchimp

    # Nobody subscribed (or sent a confirmation request) without recorded consent: the
    # CRM records none, so only the member's own status could, and Baton never rewrites it.
    assert to_mailchimp.get("status") not in ("subscribed", "pending"), to_mailchimp

    # An opt-out recorded on either side reaches the other.
    member_status = member["status"] if member is not None else None
    opted_out = crm["hs_email_optout"] == "true" or member_status in WITHDRAWN
    if opted_out:
        final = to_mailchimp.get("status", member_status)
        # An archived member is left alone (only the person can come back); still no email.
        assert final in WITHDRAWN or member_status == "archived", (to_mailchimp, state)
        assert to_hubspot.get("hs_email_optout", crm["hs_email_optout"]) == "true", (
            to_hubspot,
            state,
        )


def test_the_generator_reaches_accepted_mappings() -> None:
    """The property above is not vacuous: the shipped shape with sensitive fields kept in
    the CRM is accepted."""
    data = yaml.safe_load(yaml.safe_dump(SHIPPED))
    data["fields"]["job_title"]["sensitive"] = True
    data["fields"]["job_title"]["mailchimp"] = {
        "field": "merge_fields.JOBTITLE",
        "direction": "pull",
    }
    assert accepted(yaml.safe_dump(data, sort_keys=False)) is not None
