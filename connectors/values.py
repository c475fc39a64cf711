"""How each vendor wants a canonical value of a given type written, where that differs
from the canonical text (see `SystemRules.renders`). Plain strings in, vendor values out:
the canonical forms are documented in `mapping.types`.

- HubSpot: booleans ``true`` / ``false``, dates ``YYYY-MM-DD`` and multiple checkboxes
  ``a;b`` are the canonical text already; a datetime is sent as ISO 8601 UTC with
  milliseconds, the form HubSpot answers with, so the value reads back byte for byte.
- Mailchimp: a ``number`` merge field takes a JSON number; a multi-select lives in a text
  merge field as ``a, b`` (read back by splitting on ``,`` or ``;``); dates are
  ``YYYY-MM-DD`` whatever the field's display format.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from connectors.contract import FieldValue


def hubspot_datetime(value: str) -> FieldValue:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return value
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def mailchimp_number(value: str) -> FieldValue:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if number == number.to_integral_value():
        return int(number)
    # A JSON number is a double: digits a double cannot hold exactly go as text instead.
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else value


def mailchimp_multi(value: str) -> FieldValue:
    return ", ".join(item for item in value.split(";") if item)
