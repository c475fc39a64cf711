"""Each rejection rule of the mapping file: the problem names file, line, column and fix."""

from __future__ import annotations

import pytest

from flows.settings import DEFAULT_MAPPING
from mapping.config import parse_mapping
from mapping.errors import MappingConfigError, Problem

BASE = DEFAULT_MAPPING.read_text()
FILE = "mapping.yaml"


def problems(text: str) -> list[Problem]:
    with pytest.raises(MappingConfigError) as info:
        parse_mapping(text, FILE)
    return list(info.value.problems)


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the `occurrence`-th line containing `needle`."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in text")


def only(found: list[Problem], text: str, needle: str, *fix: str, occurrence: int = 1) -> str:
    """The one problem found is at `needle`, and its message holds every `fix` part."""
    assert len(found) == 1, [str(p) for p in found]
    line, column = position(text, needle, occurrence)
    rendered = str(found[0])
    assert rendered.startswith(f"{FILE}:{line}:{column}: "), rendered
    for part in fix:
        assert part in rendered, rendered
    return rendered


def test_the_shipped_mapping_is_valid() -> None:
    assert parse_mapping(BASE, FILE).fields["email_consent"].policy == "consent"


def test_near_miss_of_a_built_in_field_suggests_it() -> None:
    # As a plain string field, `email_consnet` would carry statuses past the consent rules.
    text = BASE.replace("  email_consent:", "  email_consnet:")
    found = problems(text)
    line, column = position(text, "email_consnet:")
    [problem] = [p for p in found if "unknown canonical field" in p.message]
    assert str(problem).startswith(f"{FILE}:{line}:{column}: ")
    assert "'email_consnet' (did you mean 'email_consent'?)" in problem.message
    assert "rename the block" in problem.message
    assert any("'status' holds email consent" in p.message for p in found)


def test_a_declared_field_near_a_built_in_name_is_its_own_field() -> None:
    text = BASE.replace(
        "fields:\n", "fields:\n  emails:\n    type: string\n    hubspot: work_email\n", 1
    )
    assert parse_mapping(text, FILE).spec("emails").type == "string"


def test_consent_field_of_a_system_bound_by_another_field() -> None:
    text = BASE.replace("    mailchimp: merge_fields.JOBTITLE\n", "    mailchimp: status\n")
    found = problems(text)
    line, column = position(text, "mailchimp: status")
    assert [str(p) for p in found if p.line == line] == [
        f"{FILE}:{line}:{column + len('mailchimp: ')}: mailchimp 'status' holds email consent: "
        "only the consent field may bind it; remove this binding from 'job_title'"
    ]


def test_misspelt_option_is_not_taken_for_a_system() -> None:
    text = BASE.replace("  job_title:\n", "  job_title:\n    sensitve: true\n")
    only(problems(text), text, "sensitve:", "did you mean 'sensitive'?")


def test_enum_value_with_no_vendor_value() -> None:
    text = BASE.replace("        telehealth: Telehealth\n", "")
    only(
        problems(text),
        text,
        "values:",
        "'service_line' value 'telehealth' has no mailchimp value",
        "add `telehealth: <mailchimp value>` under `values:`",
        occurrence=position_index(text, "field: merge_fields.SERVICE", "values:") + 1,
    )


def test_two_sources_writing_one_field_need_a_policy() -> None:
    text = BASE.replace("  first_name:\n    policy: newest\n", "  first_name:\n")
    only(
        problems(text),
        text,
        "first_name:",
        "read from hubspot and mailchimp but has no policy",
        "add `policy: newest`",
    )


def test_one_way_field_needs_no_policy() -> None:
    text = BASE.replace(
        "  first_name:\n    policy: newest\n    hubspot: firstname\n",
        "  first_name:\n    hubspot: {field: firstname, direction: push}\n",
    )
    assert parse_mapping(text, FILE).fields["first_name"].policy == "newest"


def test_sensitive_field_bound_toward_the_email_platform() -> None:
    text = BASE.replace("  job_title:\n", "  job_title:\n    sensitive: true\n")
    only(
        problems(text),
        text,
        "mailchimp: merge_fields.JOBTITLE",
        "'job_title' is sensitive and may never be sent to mailchimp",
        "`direction: pull`",
    )


def test_mailchimp_merge_tag_longer_than_ten_characters() -> None:
    text = BASE.replace("merge_fields.JOBTITLE", "merge_fields.JOB_TITLE_X")
    only(
        problems(text),
        text,
        "merge_fields.JOB_TITLE_X",
        "merge tag 'JOB_TITLE_X' is 11 characters; Mailchimp allows at most 10",
        "shorten it",
    )


def test_hubspot_property_names_have_no_length_rule() -> None:
    text = BASE.replace("hubspot: jobtitle", "hubspot: job_title_of_the_contact")
    parse_mapping(text, FILE)


def test_unknown_mailchimp_member_field_suggests_the_closest() -> None:
    text = BASE.replace("      field: status\n", "      field: statuss\n")
    found = problems(text)
    assert any(
        str(p).startswith(f"{FILE}:{position(text, 'statuss')[0]}:")
        and "did you mean 'status'?" in str(p)
        for p in found
    ), [str(p) for p in found]


def test_duplicate_key_anywhere_is_refused() -> None:
    # The second block would replace the first and drop its `sensitive: true`.
    text = BASE.replace(
        "  job_title:\n    policy: newest\n",
        "  job_title:\n    sensitive: true\n    mailchimp: {field: merge_fields.JOBTITLE, "
        "direction: pull}\n  job_title:\n    policy: newest\n",
    )
    first_line, _ = position(text, "  job_title:")
    found = problems(text)
    rendered = only(
        found,
        text,
        "job_title:",
        "duplicate key 'job_title'",
        f"also at line {first_line}",
        "merge the two into one",
        occurrence=2,
    )
    assert "fields.job_title" in rendered


def test_nested_duplicate_key_is_refused() -> None:
    text = BASE.replace(
        "        opted_out: unsubscribed\n",
        "        opted_out: unsubscribed\n        opted_out: subscribed\n",
    )
    found = problems(text)
    line, column = position(text, "opted_out: subscribed")
    assert any(
        str(p).startswith(f"{FILE}:{line}:{column}: duplicate key 'opted_out'") for p in found
    ), [str(p) for p in found]


def test_one_vendor_field_bound_by_two_canonical_fields() -> None:
    text = BASE.replace("hubspot: company", "hubspot: jobtitle")
    only(
        problems(text),
        text,
        "jobtitle",
        "hubspot field 'jobtitle' is already bound by 'organization'",
        "bind 'job_title' to another hubspot field",
        occurrence=2,
    )


def test_not_specified_may_not_be_sent_as_subscribed() -> None:
    text = BASE.replace("not_specified: transactional", "not_specified: subscribed")
    only(
        problems(text),
        text,
        "subscribed",
        "'not_specified' may not be sent as 'subscribed'",
        "subscribe someone who never consented",
        "'transactional'",
        occurrence=position_index(text, "not_specified: subscribed", "subscribed"),
    )


def position_index(text: str, line_needle: str, needle: str) -> int:
    """Which occurrence of `needle` is on the first line holding `line_needle`."""
    target, _ = position(text, line_needle)
    return sum(1 for line in text.splitlines()[:target] if needle in line)


def test_pending_may_not_be_sent_as_subscribed() -> None:
    text = BASE.replace("        pending: pending\n", "        pending: subscribed\n", 1)
    found = problems(text)
    line, column = position(text, "pending: subscribed")
    assert [str(p) for p in found] == [
        f"{FILE}:{line}:{column + len('pending: ')}: 'pending' may not be sent as "
        "'subscribed': that would subscribe someone who has not confirmed; map it to "
        "'pending' or 'transactional' or 'archived' or 'unsubscribed' or 'cleaned'"
    ]


def test_opt_out_value_the_system_does_not_know() -> None:
    text = BASE.replace("opted_out: unsubscribed", "opted_out: unsubscibed")
    found = problems(text)
    line, column = position(text, "unsubscibed")
    assert [str(p) for p in found] == [
        f"{FILE}:{line}:{column}: 'unsubscibed' is not a mailchimp consent value (did you "
        "mean 'unsubscribed'?); mailchimp knows subscribed, pending, transactional, archived, "
        "unsubscribed, cleaned"
    ]


def test_opt_out_sent_as_a_value_that_is_no_opt_out() -> None:
    text = BASE.replace('        opted_out: "true"\n', '        opted_out: "false"\n')
    only(
        problems(text),
        text,
        '"false"',
        "'opted_out' may not be sent as 'false'",
        "map it to 'true'",
    )


def test_an_opt_out_may_not_be_read_as_no_consent() -> None:
    text = BASE.replace(
        "        unsubscribed: opted_out\n", "        unsubscribed: not_specified\n"
    )
    line, column = position(text, "unsubscribed: not_specified")
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    assert str(found[0]).startswith(f"{FILE}:{line}:{column + len('unsubscribed: ')}: ")
    assert "mailchimp 'unsubscribed' may not be read as 'not_specified'" in str(found[0])
    assert "read it as 'opted_out' or 'bounced'" in str(found[0])


def test_consent_needs_the_consent_policy() -> None:
    text = BASE.replace("    policy: consent\n", "    policy: newest\n")
    only(problems(text), text, "policy: newest", "must use `policy: consent`", occurrence=7)


def test_consent_lives_in_the_systems_own_field() -> None:
    text = BASE.replace("      field: status\n", "      field: merge_fields.CONSENT\n")
    found = problems(text)
    line, column = position(text, "merge_fields.CONSENT")
    assert f"{FILE}:{line}:{column}: mailchimp records email consent in 'status'" in [
        str(p)[: len(f"{FILE}:{line}:{column}: mailchimp records email consent in 'status'")]
        for p in found
    ]


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = (
        BASE.replace("merge_fields.JOBTITLE", "merge_fields.JOB_TITLE_X")
        .replace("hubspot: company", "hubspot: firstname")
        .replace("not_specified: transactional", "not_specified: subscribed")
    )
    found = problems(text)
    assert len(found) == 3, [str(p) for p in found]
    lines = [p.line for p in found]
    assert all(isinstance(n, int) for n in lines)
    with pytest.raises(MappingConfigError, match=r"and 2 more problems"):
        parse_mapping(text, FILE)


def test_consent_flows_both_ways() -> None:
    text = BASE.replace("      field: status\n", "      field: status\n      direction: pull\n")
    only(problems(text), text, "direction: pull", "consent must flow both ways")


def test_an_opt_out_that_is_not_read_is_refused() -> None:
    text = BASE.replace("        cleaned: bounced\n", "", 1)
    only(
        problems(text),
        text,
        "read_values:",
        "mailchimp 'cleaned' records an opt-out but is not read",
        "add `cleaned: opted_out`",
        occurrence=position_index(text, "transactional: not_specified", "read_values:"),
    )
