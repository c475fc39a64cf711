from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from connectors.mailchimp_status import guard_status as guard_mailchimp_status
from mapping.config import MappingConfig
from mapping.merge import FieldState
from mapping.plan import plan_fields

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def state(**values: str) -> dict[str, FieldState]:
    return {k: FieldState(v, "hubspot", T0) for k, v in values.items()}


def test_new_member_gets_every_pushable_field_and_a_status(mapping: MappingConfig) -> None:
    payload = plan_fields(
        mapping,
        "mailchimp",
        state(email="a@x.org", first_name="Ana", service_line="oncology", lifecycle_stage="mql"),
        None,
    )
    assert payload == {
        "merge_fields.FNAME": "Ana",
        "merge_fields.SERVICE": "Oncology",
        "merge_fields.STAGE": "MQL",
        "status": "transactional",
    }


def test_email_is_never_in_an_update(mapping: MappingConfig) -> None:
    payload = plan_fields(mapping, "hubspot", state(email="new@x.org"), {"email": "old@x.org"})
    assert payload == {}


def test_formatting_differences_are_not_rewritten(mapping: MappingConfig) -> None:
    shadow = {"merge_fields.PHONE": "(617) 555-0134"}
    assert plan_fields(mapping, "mailchimp", state(phone="+16175550134"), shadow) == {}


def test_lossy_consent_mapping_does_not_loop(mapping: MappingConfig) -> None:
    shadow = {"hs_email_optout": "false"}
    assert plan_fields(mapping, "hubspot", state(email_consent="opted_in"), shadow) == {}


def test_opt_out_reaches_the_crm(mapping: MappingConfig) -> None:
    shadow = {"hs_email_optout": "false"}
    assert plan_fields(mapping, "hubspot", state(email_consent="bounced"), shadow) == {
        "hs_email_optout": "true"
    }


def test_pull_only_field_is_not_pushed(mapping: MappingConfig) -> None:
    assert (
        plan_fields(mapping, "hubspot", state(lifecycle_stage="sql"), {"lifecyclestage": "lead"})
        == {}
    )


def test_unsubscribed_member_is_never_resubscribed(mapping: MappingConfig) -> None:
    assert (
        plan_fields(
            mapping, "mailchimp", state(email_consent="opted_in"), {"status": "unsubscribed"}
        )
        == {}
    )


def test_crm_opt_out_unsubscribes_the_member(mapping: MappingConfig) -> None:
    assert plan_fields(
        mapping, "mailchimp", state(email_consent="opted_out"), {"status": "subscribed"}
    ) == {"status": "unsubscribed"}


STATUSES = ["subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"]


@given(desired=st.sampled_from(STATUSES), current=st.sampled_from([*STATUSES, None]))
def test_guard_never_subscribes_an_existing_member(desired: str, current: str | None) -> None:
    sent = guard_mailchimp_status(desired, current)
    if current is not None:
        assert sent in (None, "unsubscribed")
        if current in ("unsubscribed", "cleaned", "archived"):
            assert sent is None
    else:
        assert sent != "cleaned"


@given(first=st.text(alphabet="abc", min_size=1, max_size=5))
def test_applying_the_plan_makes_the_next_plan_empty(mapping: MappingConfig, first: str) -> None:
    contact = state(first_name=first, phone="+16175550134", email_consent="opted_out")
    shadow: dict = {"status": "subscribed"}
    payload = plan_fields(mapping, "mailchimp", contact, shadow)
    shadow.update(payload)
    assert plan_fields(mapping, "mailchimp", contact, shadow) == {}
