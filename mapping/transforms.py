"""Value transforms applied when translating vendor values to canonical ones.

Each transform is a pure function `str -> str` that raises `ValueError` with a
short reason when the value cannot be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Transform = Callable[[str], str]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_NON_DIGITS = re.compile(r"[^\d+]")


def trim(value: str) -> str:
    return value.strip()


def lowercase(value: str) -> str:
    return value.lower()


def email(value: str) -> str:
    """Trim and lowercase; reject what cannot be an address at all.

    Deliverability (a missing top-level domain, say) is the vendors' call:
    their rejection lands in the dead-letter table with their reason.
    """
    normalized = value.strip().lower()
    if not _EMAIL.match(normalized):
        raise ValueError(f"{value!r} is not an email address")
    return normalized


def phone_e164(value: str, default_country_code: str = "1") -> str:
    """North American numbers to E.164; numbers already starting with + are kept.

    Accepts the formats people type: "(617) 555-0134", "617.555.0134",
    "+1 617 555 0134", "1-617-555-0134".
    """
    raw = value.strip()
    digits = _NON_DIGITS.sub("", raw)
    if digits.startswith("+"):
        rest = digits[1:]
        if rest.isdigit() and 8 <= len(rest) <= 15:
            return "+" + rest
        raise ValueError(f"{value!r} is not a phone number")
    if not digits.isdigit():
        raise ValueError(f"{value!r} is not a phone number")
    if len(digits) == 10:
        return f"+{default_country_code}{digits}"
    if len(digits) == 11 and digits.startswith(default_country_code):
        return "+" + digits
    raise ValueError(f"{value!r} is not a phone number")


def collapse_spaces(value: str) -> str:
    return " ".join(value.split())


NAMED: dict[str, Transform] = {
    "trim": trim,
    "lowercase": lowercase,
    "email": email,
    "phone_e164": phone_e164,
    "collapse_spaces": collapse_spaces,
}
