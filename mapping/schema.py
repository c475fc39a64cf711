"""Baton's canonical contact: the field schema both systems map onto.

The admin declares the canonical fields in the mapping file (see `mapping.config`);
only the two fields Baton's own rules depend on are built in: `email`, the identity
contacts are matched by, and `email_consent`, whose values the consent rules in
`mapping.consent` hold whatever the file says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model


class FieldType(StrEnum):
    STRING = "string"
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    MULTI_SELECT = "multi_select"
    CONSENT = "consent"


# Types an admin may declare; `consent` belongs to the built-in consent field alone.
DECLARABLE_TYPES: tuple[FieldType, ...] = tuple(t for t in FieldType if t is not FieldType.CONSENT)
CHOICE_TYPES = frozenset({FieldType.ENUM, FieldType.MULTI_SELECT})


class Unmapped(StrEnum):
    """What happens to an enum value the field's choices or value map do not know."""

    KEEP = "keep"
    """Carry it as it is (the shipped default: no data is ever dropped silently)."""
    DEFAULT = "default"
    """Use the field's declared `default` choice instead."""
    DEAD_LETTER = "dead_letter"
    """Dead-letter this field of the record (the rest of the record still syncs)."""


class Consent(StrEnum):
    """Email consent, from least to most informative; see `mapping.consent`."""

    NOT_SPECIFIED = "not_specified"
    PENDING = "pending"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    BOUNCED = "bounced"


@dataclass(frozen=True)
class CanonicalField:
    """One canonical field: its type, its choices, and what an unknown value becomes."""

    name: str
    type: FieldType = FieldType.STRING
    choices: tuple[str, ...] = ()
    unmapped: Unmapped = Unmapped.KEEP
    default: str | None = None
    sensitive: bool = False
    region: str = "US"
    """Phone fields: where a number without a country code is read."""

    @property
    def has_choices(self) -> bool:
        return self.type in CHOICE_TYPES or self.type is FieldType.CONSENT


IDENTITY_FIELD = "email"
CONSENT_FIELD = "email_consent"

BUILT_IN: dict[str, CanonicalField] = {
    IDENTITY_FIELD: CanonicalField(IDENTITY_FIELD, FieldType.EMAIL),
    CONSENT_FIELD: CanonicalField(
        CONSENT_FIELD,
        FieldType.CONSENT,
        tuple(c.value for c in Consent),
        # An unknown status must never be guessed at: it is set aside, not synced.
        unmapped=Unmapped.DEAD_LETTER,
    ),
}


def contact_model(fields: dict[str, CanonicalField]) -> type[BaseModel]:
    """A pydantic model of a canonical contact with the declared fields (CLI, reports).

    Every value is the field's canonical text; only the identity is required.
    """
    definitions: dict[str, Any] = {
        name: (str, ...) if name == IDENTITY_FIELD else (str | None, None) for name in fields
    }
    return create_model(
        "Contact", __config__=ConfigDict(extra="forbid", frozen=True), **definitions
    )
