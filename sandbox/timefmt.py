"""Timestamp helpers: the two vendors format instants differently."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current instant, truncated to milliseconds like HubSpot stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


def hubspot_iso(value: datetime) -> str:
    """HubSpot style: ``2026-11-25T14:03:12.345Z``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def mailchimp_iso(value: datetime) -> str:
    """Mailchimp style: ``2026-11-25T14:03:12+00:00`` (second precision)."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 instant; naive values are taken as UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch."""
    return int(value.timestamp() * 1000)
