"""Vendor timestamp parsing and formatting (always timezone-aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken to be UTC; aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 (with `Z` or an offset) or epoch milliseconds; None if unparseable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def epoch_ms(value: datetime) -> str:
    """HubSpot's filter format for dates: epoch milliseconds as a string."""
    return str(int(as_utc(value).timestamp() * 1000))


def iso_offset(value: datetime) -> str:
    """Mailchimp's filter format: `2015-10-21T15:41:36+00:00`."""
    return as_utc(value).isoformat(timespec="seconds")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
