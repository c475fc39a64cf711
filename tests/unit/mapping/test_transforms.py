import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.transforms import email, phone_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Maria.Lopez@LakeviewClinic.org ", "maria.lopez@lakeviewclinic.org"),
        ("a@b", "a@b"),  # deliverability is the vendors' call
    ],
)
def test_email_is_trimmed_and_lowercased(raw: str, expected: str) -> None:
    assert email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "two@@signs", "spa ce@x.org"])
def test_email_rejects_non_addresses(raw: str) -> None:
    with pytest.raises(ValueError, match="not an email"):
        email(raw)


@pytest.mark.parametrize(
    "raw", ["(617) 555-0134", "617.555.0134", "+1 617 555 0134", "1-617-555-0134", "6175550134"]
)
def test_phone_formats_converge_on_e164(raw: str) -> None:
    assert phone_e164(raw) == "+16175550134"


@pytest.mark.parametrize("raw", ["12", "call me", "555-0134"])
def test_phone_rejects_what_is_not_a_number(raw: str) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        phone_e164(raw)


@given(st.from_regex(r"\A[2-9]\d{9}\Z"))
def test_phone_is_idempotent(digits: str) -> None:
    once = phone_e164(digits)
    assert phone_e164(once) == once


@given(st.from_regex(r"\A\s?[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,20}(\.[A-Za-z]{2,6}){1,2}\s?\Z"))
def test_email_is_idempotent(address: str) -> None:
    once = email(address)
    assert email(once) == once
