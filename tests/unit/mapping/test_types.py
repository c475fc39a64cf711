from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.schema import FieldType
from mapping.types import normalize


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (FieldType.STRING, "  Lakeview   Clinic ", "Lakeview Clinic"),
        (FieldType.EMAIL, " Maria.Lopez@LakeviewClinic.org ", "maria.lopez@lakeviewclinic.org"),
        (FieldType.EMAIL, "a@b", "a@b"),  # deliverability is the vendors' call
        (FieldType.PHONE, "(617) 555-0134", "+16175550134"),
        (FieldType.PHONE, "617.555.0134", "+16175550134"),
        (FieldType.PHONE, "+1 617 555 0134", "+16175550134"),
        (FieldType.PHONE, "1-617-555-0134", "+16175550134"),
        (FieldType.PHONE, "+44 20 7946 0958", "+442079460958"),
        (FieldType.NUMBER, "12", "12"),
        (FieldType.NUMBER, " 1,200.50 ", "1200.5"),
        (FieldType.NUMBER, "-0.250", "-0.25"),
        (FieldType.NUMBER, "1200.0", "1200"),
        (FieldType.NUMBER, "+7", "7"),
        (FieldType.BOOLEAN, "Yes", "true"),
        (FieldType.BOOLEAN, "0", "false"),
        (FieldType.BOOLEAN, "true", "true"),
        (FieldType.DATE, "2026-03-01", "2026-03-01"),
        (FieldType.DATE, "1772323200000", "2026-03-01"),  # HubSpot: midnight UTC in ms
        (FieldType.DATE, "2026-03-01T00:00:00.000Z", "2026-03-01"),
        (FieldType.DATETIME, "2026-03-01T09:30:00-05:00", "2026-03-01T14:30:00Z"),
        (FieldType.DATETIME, "2026-03-01T14:30:00.120Z", "2026-03-01T14:30:00.120Z"),
        (FieldType.DATETIME, "1772375400000", "2026-03-01T14:30:00Z"),
        (FieldType.DATETIME, "2026-03-01 14:30", "2026-03-01T14:30:00Z"),  # no offset: UTC
        (FieldType.ENUM, " cardiology ", "cardiology"),
        (FieldType.MULTI_SELECT, "b;a; a ;c", "a;b;c"),
        (FieldType.MULTI_SELECT, "b, a", "a;b"),
    ],
)
def test_each_type_has_one_normal_form(kind: FieldType, raw: str, expected: str) -> None:
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "reason"),
    [
        (FieldType.EMAIL, "no-at-sign", "not an email"),
        (FieldType.EMAIL, "spa ce@x.org", "not an email"),
        (FieldType.PHONE, "12", "not a phone number"),
        (FieldType.PHONE, "call me", "not a phone number"),
        (FieldType.NUMBER, "twelve", "not a number"),
        (FieldType.NUMBER, "1e5", "not a number"),
        (FieldType.NUMBER, "NaN", "not a number"),
        (FieldType.NUMBER, "1,2,3", "not a number"),
        (FieldType.BOOLEAN, "maybe", "not a yes/no"),
        (FieldType.DATE, "2026-02-30", "not a date"),
        (FieldType.DATE, "1772375400000", "not a midnight-UTC date"),
        (FieldType.DATE, "soon", "not a date"),
        (FieldType.DATETIME, "soon", "not a date and time"),
    ],
)
def test_a_value_a_type_cannot_hold_says_why(kind: FieldType, raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize(kind, raw)


def test_the_default_region_reads_numbers_without_a_country_code() -> None:
    assert normalize(FieldType.PHONE, "020 7946 0958", region="GB") == "+442079460958"
    with pytest.raises(ValueError, match="region US"):
        normalize(FieldType.PHONE, "020 7946 0958")


# Normal forms are fixed points: what Baton stores (and writes) reads back unchanged.


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    )
)
def test_numbers_are_stable(number: Decimal) -> None:
    once = normalize(FieldType.NUMBER, str(number))
    assert Decimal(once) == number
    assert normalize(FieldType.NUMBER, once) == once


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)))
def test_dates_are_stable(day: date) -> None:
    midnight_ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    assert normalize(FieldType.DATE, str(midnight_ms)) == day.isoformat()
    assert normalize(FieldType.DATE, day.isoformat()) == day.isoformat()


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
        max_value=datetime(2099, 12, 31),  # noqa: DTZ001
        timezones=st.sampled_from([UTC]),
    )
)
def test_datetimes_are_stable(moment: datetime) -> None:
    once = normalize(FieldType.DATETIME, moment.isoformat())
    assert normalize(FieldType.DATETIME, once) == once
    assert abs(datetime.fromisoformat(once.replace("Z", "+00:00")) - moment).total_seconds() < 0.001


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=6))
def test_multi_selects_are_stable(items: list[str]) -> None:
    once = normalize(FieldType.MULTI_SELECT, ";".join(items))
    assert normalize(FieldType.MULTI_SELECT, once) == once
    assert set(filter(None, once.split(";"))) == set(items)


@given(st.sampled_from(["yes", "no", "TRUE", "false", "1", "0", "On", "off"]))
def test_booleans_are_stable(word: str) -> None:
    once = normalize(FieldType.BOOLEAN, word)
    assert normalize(FieldType.BOOLEAN, once) == once


@given(st.from_regex(r"\A\s?[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,20}(\.[A-Za-z]{2,6}){1,2}\s?\Z"))
def test_emails_are_stable(address: str) -> None:
    once = normalize(FieldType.EMAIL, address)
    assert normalize(FieldType.EMAIL, once) == once


@given(st.from_regex(r"\A[2-9]\d{2}[2-9]\d{6}\Z"))
def test_phones_are_stable(digits: str) -> None:
    try:
        once = normalize(FieldType.PHONE, digits)
    except ValueError:
        return  # not a number the North American plan assigns
    assert normalize(FieldType.PHONE, once) == once
