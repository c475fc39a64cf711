"""Baton's canonical contact: the one field schema both systems map onto."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class FieldType(StrEnum):
    STRING = "string"
    EMAIL = "email"
    PHONE = "phone"
    ENUM = "enum"
    CONSENT = "consent"


class Consent(StrEnum):
    """Email consent, from least to most informative; see `mapping.consent`."""

    NOT_SPECIFIED = "not_specified"
    PENDING = "pending"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    BOUNCED = "bounced"


class LifecycleStage(StrEnum):
    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"


SERVICE_LINES = (
    "cardiology",
    "orthopedics",
    "behavioral_health",
    "primary_care",
    "dermatology",
    "oncology",
    "telehealth",
)
LEAD_SOURCES = (
    "organic_search",
    "paid_search",
    "referral",
    "event",
    "partner_email",
    "social",
    "direct",
)


@dataclass(frozen=True)
class CanonicalField:
    name: str
    type: FieldType
    choices: tuple[str, ...] = ()
    sensitive: bool = False


CANONICAL_FIELDS: dict[str, CanonicalField] = {
    f.name: f
    for f in (
        CanonicalField("email", FieldType.EMAIL),
        CanonicalField("first_name", FieldType.STRING),
        CanonicalField("last_name", FieldType.STRING),
        CanonicalField("phone", FieldType.PHONE),
        CanonicalField("organization", FieldType.STRING),
        CanonicalField("job_title", FieldType.STRING),
        CanonicalField("service_line", FieldType.ENUM, SERVICE_LINES),
        CanonicalField("lead_source", FieldType.ENUM, LEAD_SOURCES),
        CanonicalField("email_consent", FieldType.CONSENT, tuple(c.value for c in Consent)),
        CanonicalField("lifecycle_stage", FieldType.ENUM, tuple(s.value for s in LifecycleStage)),
    )
}

IDENTITY_FIELD = "email"


class Contact(BaseModel):
    """A canonical contact as shown to users (CLI, reports)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    organization: str | None = None
    job_title: str | None = None
    service_line: str | None = None
    lead_source: str | None = None
    email_consent: Consent = Consent.NOT_SPECIFIED
    lifecycle_stage: LifecycleStage | None = None
