from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.transforms import (
    TransformArgError,
    build,
    join_name,
    read_through,
    split_full_name,
    write_through,
)


def run(items: list[Any], value: str) -> str:
    return read_through([build(i) for i in items], value)


@pytest.mark.parametrize(
    ("items", "raw", "expected"),
    [
        (["trim"], "  Maria  ", "Maria"),
        (["lower"], "MARIA", "maria"),
        (["lowercase"], "MARIA", "maria"),
        (["upper"], "maria", "MARIA"),
        (["title"], "mARIA de LA cruz", "Maria De La Cruz"),
        (["collapse_spaces"], " a   b \t c ", "a b c"),
        (["email"], " A@X.org ", "a@x.org"),
        (["phone"], "(617) 555-0134", "+16175550134"),
        ([{"phone": "GB"}], "020 7946 0958", "+442079460958"),
        ([{"phone": {"region": "GB"}}], "020 7946 0958", "+442079460958"),
        ([{"date": "%m/%d/%Y"}], "03/01/2026", "2026-03-01"),
        (["date"], "2026-03-01", "2026-03-01"),
        ([{"datetime": "America/New_York"}], "2026-03-01T09:30:00", "2026-03-01T14:30:00Z"),
        (
            [{"datetime": {"tz": "Europe/Paris", "format": "%d/%m/%Y %H:%M"}}],
            "01/07/2026 10:00",
            "2026-07-01T08:00:00Z",
        ),
        (["boolean"], "Yes", "true"),
        ([{"boolean": {"true": ["Sí"], "false": ["Nein"]}}], "nein", "false"),
        ([{"enum_map": {"map": {"Cardio": "cardiology"}}}], "Cardio", "cardiology"),
        ([{"enum_map": {"map": {"Cardio": "cardiology"}, "default": "other"}}], "?", "other"),
        ([{"enum_map": {"map": {"Cardio": "cardiology"}}}], "Neuro", "Neuro"),
        ([{"split_name": "first"}], "Maria de la Cruz", "Maria"),
        ([{"split_name": "last"}], "Maria de la Cruz", "de la Cruz"),
        ([{"split_name": "first"}], "Lopez, Maria", "Maria"),
        ([{"constant": "Baton"}], "anything", "Baton"),
        (["trim", "lower", "collapse_spaces"], "  HELLO   World ", "hello world"),
    ],
)
def test_each_transform_reads_as_documented(items: list[Any], raw: str, expected: str) -> None:
    assert run(items, raw) == expected


@pytest.mark.parametrize(
    ("items", "raw", "reason"),
    [
        (["phone"], "call me", "not a phone number"),
        (["phone"], "555-0134", "not a phone number"),
        (["email"], "two@@signs", "not an email"),
        ([{"date": "%m/%d/%Y"}], "2026-13-45", "not a date"),
        (["datetime"], "yesterday", "not a date and time"),
        (["boolean"], "maybe", "not a yes/no value"),
    ],
)
def test_a_value_a_transform_cannot_take_says_why(items: list[Any], raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        run(items, raw)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("shout", "unknown transform 'shout'"),
        ({"datetime": {"tz": "Mars/Base"}}, "unknown time zone"),
        ({"date": "mm/dd"}, "no strftime codes"),
        ({"split_name": "middle"}, "`first` or `last`"),
        ({"boolean": {"true": ["x"], "false": ["x"]}}, "both true and false"),
        ({"trim": {"hard": True}}, "transform 'trim'"),
        ({"trim": 3}, "takes no plain argument"),
        ({"trim": 1, "lower": 2}, "one-key mapping"),
    ],
)
def test_a_bad_transform_argument_is_refused_at_load(item: Any, message: str) -> None:
    with pytest.raises(TransformArgError, match=message):
        build(item)


def test_writing_reverses_the_steps() -> None:
    steps = [build({"date": "%m/%d/%Y"})]
    assert write_through(steps, "2026-03-01") == "03/01/2026"
    steps = [build({"enum_map": {"map": {"Cardio": "cardiology", "Heart": "cardiology"}}})]
    assert write_through(steps, "cardiology") == "Cardio"  # the first vendor value listed
    steps = [build({"boolean": {"true": ["Oui"], "false": ["Non"]}})]
    assert write_through(steps, "false") == "Non"


def test_a_name_splits_and_joins_back() -> None:
    assert split_full_name("  Maria   de la Cruz ") == ("Maria", "de la Cruz")
    assert join_name("Maria", "de la Cruz") == "Maria de la Cruz"
    assert join_name(None, "Cruz") == "Cruz"


# Round trips: for a valid vendor value x, reading what Baton writes for read(x) gives
# read(x) again, so a value Baton wrote never comes back as a change.

NAMES = st.from_regex(r"\A[A-Z][a-z]{1,8}( [A-Za-z][a-z]{1,8}){0,2}\Z")
ZONES = st.sampled_from(["UTC", "America/New_York", "Europe/Paris", "Asia/Kolkata"])
MOMENTS = st.datetimes(
    min_value=__import__("datetime").datetime(1971, 1, 1),
    max_value=__import__("datetime").datetime(2099, 12, 31),
)


def assert_stable(items: list[Any], raw: str) -> None:
    steps = [build(i) for i in items]
    canonical = read_through(steps, raw)
    assert read_through(steps, write_through(steps, canonical)) == canonical


@given(
    st.sampled_from(["trim", "lower", "upper", "title", "collapse_spaces"]),
    st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=30),
)
def test_text_transforms_are_stable(name: str, raw: str) -> None:
    assert_stable([name], raw)
    once = run([name], raw)
    assert run([name], once) == once


@given(st.from_regex(r"\A[2-9][0-8]\d[2-9]\d{2}\d{4}\Z"), st.sampled_from(["phone", "trim"]))
def test_phone_is_stable(digits: str, first: str) -> None:
    try:
        run(["phone"], digits)
    except ValueError:
        return  # not a number the plan assigns: not valid input
    assert_stable([first, "phone"], digits)


@given(MOMENTS, st.sampled_from(["%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"]))
def test_dates_in_a_format_are_stable(moment: Any, fmt: str) -> None:
    assert_stable([{"date": fmt}], moment.strftime(fmt))


@given(MOMENTS, ZONES)
def test_datetimes_in_a_zone_are_stable(moment: Any, zone: str) -> None:
    assert_stable([{"datetime": zone}], moment.replace(microsecond=0).isoformat())


@given(st.sampled_from(["yes", "No", "TRUE", "0", "1", "off", "Si", "nope"]))
def test_booleans_are_stable(word: str) -> None:
    assert_stable([{"boolean": {"true": ["Si"], "false": ["nope"]}}], word)


@given(st.dictionaries(NAMES, st.sampled_from(["a", "b", "c"]), min_size=1), st.data())
def test_enum_maps_are_stable(table: dict[str, str], data: st.DataObject) -> None:
    raw = data.draw(st.sampled_from(sorted(table)))
    assert_stable([{"enum_map": {"map": table, "default": "a"}}], raw)


@given(NAMES)
def test_split_names_join_back_to_the_same_parts(full: str) -> None:
    first, last = split_full_name(full)
    assert split_full_name(join_name(first, last)) == (first, last)


@given(st.text(max_size=10), st.text(min_size=1, max_size=10))
def test_constants_are_stable(raw: str, value: str) -> None:
    assert_stable([{"constant": value}], raw)
