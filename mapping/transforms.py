"""Value transforms an admin lists under a binding's `transforms:`.

Each transform has a name and, where it needs one, an argument; in YAML a list item is
either the name (``trim``) or a one-key mapping (``phone: {region: GB}``, ``constant: Web``).
A binding's list is a composition: reading (vendor -> canonical) applies the steps in order,
then the field type's own normal form (`mapping.types`); writing (canonical -> vendor)
applies each step's `write` in reverse order. A step that cannot take a value raises
`ValueError` with a short reason; the caller dead-letters that field of that record.

``write(read(x))`` reads back as ``read(x)`` for every transform: a value Baton writes is
never seen as a change when it comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mapping.types import (
    FALSE_WORDS,
    TRUE_WORDS,
    format_datetime,
    normal_date,
    normal_email,
    normal_phone,
    normal_string,
    parse_datetime,
)


def _same(value: str) -> str:
    return value


@dataclass(frozen=True)
class Step:
    """One configured transform: how it reads a vendor value and writes a canonical one."""

    name: str
    read: Callable[[str], str]
    write: Callable[[str], str] = _same
    constant: str | None = None
    """The value it always gives (the `constant` transform), whatever the record holds."""
    name_part: str | None = None
    """`first` / `last` for `split_name`: the vendor field holds a whole name."""


class TransformArgError(ValueError):
    """A transform's argument in the mapping file is wrong (the message says how)."""


def trim() -> Step:
    return Step("trim", str.strip)


def lower() -> Step:
    return Step("lower", str.lower)


def upper() -> Step:
    return Step("upper", str.upper)


def title() -> Step:
    return Step("title", lambda v: " ".join(w[:1].upper() + w[1:].lower() for w in v.split(" ")))


def collapse_spaces() -> Step:
    return Step("collapse_spaces", normal_string)


def email() -> Step:
    return Step("email", normal_email)


def phone(region: str = "US") -> Step:
    """E.164; a number without a country code is read in `region` (ISO 3166 code)."""
    return Step("phone", lambda v: normal_phone(v, region))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TransformArgError(f"unknown time zone {name!r} (e.g. America/New_York)") from None


def date(fmt: str | None = None) -> Step:
    """A date in `fmt` (strftime codes, e.g. ``%m/%d/%Y``) both ways; ISO when None."""
    if fmt is None:
        return Step("date", normal_date)
    _check_format(fmt)

    def read(value: str) -> str:
        try:
            # Only the calendar date is kept, so no zone is involved.
            return datetime.strptime(value.strip(), fmt).date().isoformat()  # noqa: DTZ007
        except ValueError:
            raise ValueError(f"{value!r} is not a date in the form {fmt}") from None

    def write(value: str) -> str:
        return datetime.fromisoformat(value).strftime(fmt)

    return Step("date", read, write)


def datetime_in(tz: str = "UTC", fmt: str | None = None) -> Step:
    """A date-time whose wall-clock values (no offset) are in `tz`; written back in `tz`."""
    zone = _zone(tz)
    if fmt is not None:
        _check_format(fmt)

    def read(value: str) -> str:
        text = value.strip()
        try:
            if fmt is not None:
                moment = datetime.strptime(text, fmt)  # noqa: DTZ007 (zone set below)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=zone)
            else:
                moment = parse_datetime(text, tz)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time") from None
        return format_datetime(moment)

    def write(value: str) -> str:
        local = parse_datetime(value).astimezone(zone)
        return local.strftime(fmt) if fmt is not None else local.isoformat()

    return Step("datetime", read, write)


def _check_format(fmt: str) -> None:
    if "%" not in fmt:
        raise TransformArgError(f"date format {fmt!r} has no strftime codes (e.g. %m/%d/%Y)")


def boolean(true: Sequence[str] = (), false: Sequence[str] = ()) -> Step:
    """Yes/no words to ``true`` / ``false``; `true` / `false` add words of the portal's own
    (their first word is what Baton writes back)."""
    yes = {w.strip().lower() for w in true} | TRUE_WORDS
    no = {w.strip().lower() for w in false} | FALSE_WORDS
    if yes & no:
        raise TransformArgError(f"words both true and false: {', '.join(sorted(yes & no))}")

    def read(value: str) -> str:
        word = value.strip().lower()
        if word in yes:
            return "true"
        if word in no:
            return "false"
        raise ValueError(f"{value!r} is not a yes/no value")

    written = {"true": true[0] if true else "true", "false": false[0] if false else "false"}
    return Step("boolean", read, lambda v: written.get(v, v))


def enum_map(map: Mapping[str, str], default: str | None = None) -> Step:
    """Vendor value -> canonical value; an unlisted value becomes `default`, or passes on
    unchanged when there is none (the field's `unmapped:` setting then decides)."""
    table = {str(k): str(v) for k, v in map.items()}
    back: dict[str, str] = {}
    for vendor, canonical in table.items():
        back.setdefault(canonical, vendor)

    def read(value: str) -> str:
        text = value.strip()
        if text in table:
            return table[text]
        return default if default is not None else text

    return Step("enum_map", read, lambda v: back.get(v, v))


def split_name(part: str) -> Step:
    """One part (`first` or `last`) of a whole name; writing joins the two parts again."""
    if part not in ("first", "last"):
        raise TransformArgError("split_name takes `first` or `last`")
    index = 0 if part == "first" else 1

    def read(value: str) -> str:
        return split_full_name(value)[index]

    return Step("split_name", read, name_part=part)


def split_full_name(full: str) -> tuple[str, str]:
    """("Maria", "de la Cruz") from "Maria de la Cruz"; "Lopez, Maria" is last-name first."""
    text = normal_string(full)
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.partition(" ")
    return first, last


def join_name(first: str | None, last: str | None) -> str:
    return " ".join(p for p in (first, last) if p)


def constant(value: Any) -> Step:
    text = str(value)
    return Step("constant", lambda _v: text, lambda _v: text, constant=text)


# name -> factory; a factory takes the YAML argument (a scalar, or keyword arguments).
FACTORIES: dict[str, Callable[..., Step]] = {
    "trim": trim,
    "lower": lower,
    "lowercase": lower,
    "upper": upper,
    "title": title,
    "collapse_spaces": collapse_spaces,
    "email": email,
    "phone": phone,
    "phone_e164": phone,
    "date": date,
    "datetime": datetime_in,
    "boolean": boolean,
    "enum_map": enum_map,
    "split_name": split_name,
    "constant": constant,
}
# The argument a factory takes when the YAML gives a plain value instead of keywords.
_SCALAR_ARG = {
    "phone": "region",
    "phone_e164": "region",
    "date": "fmt",
    "datetime": "tz",
    "split_name": "part",
    "constant": "value",
}
# YAML keyword -> factory parameter, where the natural YAML word is taken in Python.
_KEYWORDS = {"format": "fmt"}


def build(item: str | Mapping[str, Any]) -> Step:
    """A step from one `transforms:` list item; raises `TransformArgError` saying why not."""
    if isinstance(item, str):
        name, arg = item, None
    elif isinstance(item, Mapping) and len(item) == 1:
        name, arg = next(iter(item.items()))
    else:
        raise TransformArgError("a transform is a name or a one-key mapping {name: argument}")
    factory = FACTORIES.get(str(name))
    if factory is None:
        raise TransformArgError(f"unknown transform {name!r} (known: {', '.join(FACTORIES)})")
    try:
        if arg is None:
            return factory()
        if isinstance(arg, Mapping):
            return factory(**{_KEYWORDS.get(str(k), str(k)): v for k, v in arg.items()})
        if name in _SCALAR_ARG:
            return factory(**{_SCALAR_ARG[str(name)]: arg})
    except TypeError as exc:
        raise TransformArgError(f"transform {name!r}: {exc}") from None
    raise TransformArgError(f"transform {name!r} takes no plain argument")


def read_through(steps: Sequence[Step], value: str) -> str:
    for step in steps:
        value = step.read(value)
    return value


def write_through(steps: Sequence[Step], value: str) -> str:
    for step in reversed(steps):
        value = step.write(value)
    return value
