"""Merge results do not depend on the order records arrive in."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mapping.config import MappingConfig
from mapping.merge import ContactState, merge_incoming
from mapping.translate import translate_record

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NAMES = st.sampled_from(["Ana", "Bo", "Cy", None])
HUBSPOT = st.fixed_dictionaries(
    {
        "email": st.just("a@x.org"),
        "firstname": NAMES,
        "jobtitle": NAMES,
        "service_line": st.sampled_from(["cardiology", "oncology", None]),
        "hs_email_optout": st.sampled_from(["true", "false", None]),
    }
)
MAILCHIMP = st.fixed_dictionaries(
    {
        "email_address": st.just(" A@X.org"),
        "merge_fields.FNAME": NAMES,
        "merge_fields.JOBTITLE": NAMES,
        "merge_fields.SERVICE": st.sampled_from(["Cardiology", "Telehealth", None]),
        "status": st.sampled_from(
            ["subscribed", "unsubscribed", "cleaned", "pending", "transactional"]
        ),
    }
)


def fold(
    mapping: MappingConfig, state: ContactState, system: str, fields: dict, at: datetime
) -> ContactState:
    values = translate_record(mapping, system, fields).values
    return merge_incoming(mapping, system, values, fields, None, state, at).state


@given(
    crm=HUBSPOT,
    member=MAILCHIMP,
    crm_later=st.booleans(),
    gap=st.integers(min_value=1, max_value=86_400),
)
def test_merge_does_not_depend_on_arrival_order(
    mapping: MappingConfig, crm: dict, member: dict, crm_later: bool, gap: int
) -> None:
    # Distinct change times: with equal ones "newest" has no answer to give.
    crm_at, member_at = (
        (T0 + timedelta(seconds=gap), T0) if crm_later else (T0, T0 + timedelta(seconds=gap))
    )
    crm_first = fold(
        mapping, fold(mapping, {}, "hubspot", crm, crm_at), "mailchimp", member, member_at
    )
    member_first = fold(
        mapping, fold(mapping, {}, "mailchimp", member, member_at), "hubspot", crm, crm_at
    )
    assert {k: v.value for k, v in crm_first.items()} == {
        k: v.value for k, v in member_first.items()
    }
