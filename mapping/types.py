"""Each canonical field type's normal form: the one text a value is stored and compared as.

A normalizer takes a value's text (after the binding's own transforms) and returns its
normal form, or raises `ValueError` with a short reason. Normal forms are fixed points:
normalizing a normal form gives it back, so a value Baton wrote and reads back again is
never seen as a change.

- string: spaces collapsed; email: trimmed, lower case; phone: E.164 (``+16175550134``);
- number: plain decimal, no exponent, no trailing zeros (``12.5``, ``-3``, ``1200``);
- boolean: ``true`` / ``false``; date: ``YYYY-MM-DD``;
- datetime: UTC, ISO 8601 with a ``Z`` (``2026-03-01T14:30:00Z``, milliseconds when any);
- enum: the trimmed choice; multi_select: distinct choices, sorted, joined by ``;``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers

from mapping.schema import FieldType

MULTI_SEPARATOR = ";"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")
_EPOCH_MS = re.compile(r"^-?\d{10,14}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "t", "checked"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "f", "unchecked"})


def normal_string(value: str) -> str:
    return " ".join(value.split())


def normal_email(value: str) -> str:
    """Trim and lowercase; reject what cannot be an address at all.

    Deliverability (a missing top-level domain, say) is the vendors' call:
    their rejection lands in the dead-letter table with their reason.
    """
    normalized = value.strip().lower()
    if not _EMAIL.match(normalized):
        raise ValueError(f"{value!r} is not an email address")
    return normalized


@lru_cache(maxsize=8192)
def normal_phone(value: str, region: str = "US") -> str:
    """E.164 through libphonenumber; a number without a country code is read in `region`.

    Cached: planning compares each record's numbers with their shadows over and over,
    and parsing is the costliest step of a page (bounded, so memory stays flat)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a phone number (region {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normal_number(value: str) -> str:
    text = value.strip().replace(" ", "")
    if not text or not _NUMBER.match(text) or text in ("+", "-", "."):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    # Trailing zeros go textually: Decimal arithmetic would round past 28 digits.
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normal_boolean(value: str) -> str:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return "true"
    if word in FALSE_WORDS:
        return "false"
    raise ValueError(f"{value!r} is not a yes/no value")


def parse_datetime(value: str, zone: str = "UTC") -> datetime:
    """An ISO 8601 date-time or epoch milliseconds as an aware datetime.

    A value without an offset is a wall-clock time in `zone`.
    """
    text = value.strip()
    if _EPOCH_MS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def format_datetime(moment: datetime) -> str:
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    # isoformat, not strftime: strftime does not pad years before 1000 on every platform.
    return utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds") + "Z"


def normal_datetime(value: str) -> str:
    moment = parse_datetime(value)
    # Vendors keep milliseconds at most: finer digits would never read back the same.
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return format_datetime(moment)


def normal_date(value: str) -> str:
    """``YYYY-MM-DD``; HubSpot's midnight-UTC milliseconds and ISO date-times give their UTC
    date."""
    text = value.strip()
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a date") from None
    try:
        moment = parse_datetime(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None
    utc = moment.astimezone(UTC)
    if utc.time() != time(0) and _EPOCH_MS.match(text):
        raise ValueError(f"{value!r} is not a midnight-UTC date")
    return utc.date().isoformat()


def normal_choice(value: str) -> str:
    return value.strip()


def split_multi(value: str) -> list[str]:
    """The items of a multi-select value (``;`` as HubSpot writes them, or ``,``)."""
    return [item.strip() for item in re.split(r"[;,]", value) if item.strip()]


def join_multi(items: list[str] | tuple[str, ...] | set[str]) -> str:
    return MULTI_SEPARATOR.join(sorted(set(items)))


def normal_multi(value: str) -> str:
    return join_multi(split_multi(value))


NORMALIZERS: dict[FieldType, Callable[[str], str]] = {
    FieldType.STRING: normal_string,
    FieldType.EMAIL: normal_email,
    FieldType.PHONE: normal_phone,
    FieldType.NUMBER: normal_number,
    FieldType.BOOLEAN: normal_boolean,
    FieldType.DATE: normal_date,
    FieldType.DATETIME: normal_datetime,
    FieldType.ENUM: normal_choice,
    FieldType.MULTI_SELECT: normal_multi,
    FieldType.CONSENT: normal_choice,
}


def normalize(kind: FieldType, value: str, *, region: str = "US") -> str:
    """`value` in the normal form of `kind`; raises `ValueError` with the reason."""
    if kind is FieldType.PHONE:
        return normal_phone(value, region)
    return NORMALIZERS[kind](value)
