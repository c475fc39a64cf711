"""HubSpot-style contact property definitions and per-record write validation."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sandbox.hs_subscriptions import SUBSCRIPTIONS, optout_property

# When the seeded portal's own definitions were made.
PORTAL_CREATED = "2026-01-05T09:00:00.000Z"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LIFECYCLE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
}
SERVICE_LINES = {
    "cardiology": "Cardiology",
    "orthopedics": "Orthopedics",
    "behavioral_health": "Behavioral Health",
    "primary_care": "Primary Care",
    "dermatology": "Dermatology",
    "oncology": "Oncology",
    "telehealth": "Telehealth",
}
LEAD_SOURCES = {
    "organic_search": "Organic Search",
    "paid_search": "Paid Search",
    "referral": "Referral",
    "event": "Event",
    "partner_email": "Partner Email",
    "social": "Social",
    "direct": "Direct",
}

ANALYTICS_SOURCES = {
    "ORGANIC_SEARCH": "Organic Search",
    "PAID_SEARCH": "Paid Search",
    "EMAIL_MARKETING": "Email Marketing",
    "SOCIAL_MEDIA": "Organic Social",
    "REFERRALS": "Referrals",
    "OTHER_CAMPAIGNS": "Other Campaigns",
    "DIRECT_TRAFFIC": "Direct Traffic",
    "OFFLINE": "Offline Sources",
    "PAID_SOCIAL": "Paid Social",
}

DEFAULT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "createdate",
    "lastmodifieddate",
    "hs_object_id",
)


@dataclass(frozen=True)
class PropertyDef:
    """One contact property as the properties API describes it."""

    name: str
    label: str
    type: str
    field_type: str
    group: str = "contactinformation"
    options: dict[str, str] = field(default_factory=dict)  # value -> label, in display order
    read_only: bool = False
    custom: bool = False
    # What a definition write may set besides the above; HubSpot echoes each back.
    description: str = ""
    display_order: int = -1
    hidden: bool = False
    form_field: bool | None = None  # None: shown on forms unless read-only
    has_unique_value: bool | None = None  # None: only ``email`` is unique
    hidden_options: frozenset[str] = frozenset()  # still valid values, kept off forms
    option_orders: tuple[tuple[str, int], ...] = ()  # value -> displayOrder given on write
    created_at: str = PORTAL_CREATED
    updated_at: str = PORTAL_CREATED

    def to_json(self) -> dict[str, Any]:
        orders = dict(self.option_orders)
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group,
            "description": self.description,
            "options": [
                {
                    "label": label,
                    "value": value,
                    "displayOrder": orders.get(value, order),
                    "hidden": value in self.hidden_options,
                }
                for order, (value, label) in enumerate(self.options.items())
            ],
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": (
                self.name == "email" if self.has_unique_value is None else self.has_unique_value
            ),
            "hidden": self.hidden,
            "hubspotDefined": not self.custom,
            "formField": not self.read_only if self.form_field is None else self.form_field,
            "modificationMetadata": {
                "archivable": self.custom,
                "readOnlyDefinition": not self.custom,
                "readOnlyValue": self.read_only,
            },
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": False,
        }


_BOOL_OPTIONS = {"true": "Yes", "false": "No"}

PROPERTIES: dict[str, PropertyDef] = {
    p.name: p
    for p in (
        PropertyDef("email", "Email", "string", "text"),
        PropertyDef("firstname", "First Name", "string", "text"),
        PropertyDef("lastname", "Last Name", "string", "text"),
        PropertyDef("phone", "Phone Number", "string", "phonenumber"),
        PropertyDef("company", "Company Name", "string", "text"),
        PropertyDef("jobtitle", "Job Title", "string", "text"),
        PropertyDef(
            "lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_LABELS
        ),
        PropertyDef(
            "hs_email_optout",
            "Unsubscribed from all email",
            "bool",
            "booleancheckbox",
            group="emailinformation",
            options=_BOOL_OPTIONS,
            read_only=True,
        ),
        *(
            PropertyDef(
                optout_property(sub.id),
                f"Opted out of email: {sub.name}",
                "bool",
                "booleancheckbox",
                group="emailinformation",
                options=_BOOL_OPTIONS,
                read_only=True,
            )
            for sub in SUBSCRIPTIONS
        ),
        PropertyDef("hubspot_owner_id", "Contact owner", "enumeration", "select"),
        PropertyDef(
            "service_line",
            "Service Line",
            "enumeration",
            "select",
            options=SERVICE_LINES,
            custom=True,
        ),
        PropertyDef(
            "lead_source",
            "Lead Source",
            "enumeration",
            "select",
            options=LEAD_SOURCES,
            custom=True,
        ),
        PropertyDef("createdate", "Create Date", "datetime", "date", read_only=True),
        PropertyDef("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        PropertyDef("hs_object_id", "Record ID", "number", "number", read_only=True),
        PropertyDef(
            "hs_merged_object_ids", "Merged Contact IDs", "enumeration", "checkbox", read_only=True
        ),
        # Set by merges (the absorbed record's address); the stricter reading is read-only.
        PropertyDef(
            "hs_additional_emails", "Additional email addresses", "string", "text", read_only=True
        ),
        PropertyDef(
            "hs_analytics_source",
            "Original Traffic Source",
            "enumeration",
            "select",
            group="analyticsinformation",
            options=ANALYTICS_SOURCES,
            read_only=True,
        ),
    )
}
# Kept by HubSpot itself on every portal, whatever its preset: writes to these are refused
# with READ_ONLY_VALUE, and their definitions say readOnlyValue.
READ_ONLY_STANDARD = tuple(name for name, prop in PROPERTIES.items() if prop.read_only)


@dataclass(frozen=True)
class PropertyError:
    """One rejected property value (maps to an ``errors[]`` entry)."""

    code: str
    message: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "in": self.name}

    def legacy_json(self) -> dict[str, Any]:
        """The entry HubSpot embeds, JSON-encoded, in the top-level ``message``."""
        return {"isValid": False, "message": self.message, "error": self.code, "name": self.name}


def describe_errors(errors: list[PropertyError]) -> str:
    """HubSpot's top-level message for refused property values: the list, JSON-encoded."""
    listed = json.dumps([e.legacy_json() for e in errors], separators=(",", ":"))
    return f"Property values were not valid: {listed}"


def is_valid_email(email: str) -> bool:
    """``local@domain.tld`` with no spaces (after trimming surrounding whitespace)."""
    return EMAIL_RE.match(email.strip()) is not None


def stage_order(stage: str) -> int:
    return LIFECYCLE_STAGES.index(stage) if stage in LIFECYCLE_STAGES else -1


def validate_properties(
    new: dict[str, Any],
    current: dict[str, str | None] | None,
    properties: Mapping[str, PropertyDef] | None = None,
) -> list[PropertyError]:
    """Validate a write of ``new`` onto a record whose values are ``current`` (None = create),
    against the portal's ``properties`` (default: the standard preset's)."""
    defined = PROPERTIES if properties is None else properties
    errors: list[PropertyError] = []
    for name, raw in new.items():
        prop = defined.get(name)
        if prop is None:
            errors.append(
                PropertyError("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist', name)
            )
            continue
        if prop.read_only:
            errors.append(
                PropertyError(
                    "READ_ONLY_VALUE",
                    f'"{name}" is a read only property; its value cannot be set.',
                    name,
                )
            )
            continue
        value = "" if raw is None else str(raw)
        if value == "":
            continue  # empty string clears any property, enumerations included
        if prop.options and value not in prop.options:
            errors.append(
                PropertyError(
                    "INVALID_OPTION",
                    f"{value} was not one of the allowed options: [{', '.join(prop.options)}]",
                    name,
                )
            )
            continue
        problem = typed_value_problem(prop.type, value)
        if problem is not None:
            errors.append(PropertyError(problem[0], problem[1], name))
            continue
        if name == "email" and not is_valid_email(value):
            errors.append(PropertyError("INVALID_EMAIL", f"Email address {value} is invalid", name))
            continue
        if name == "lifecyclestage" and current is not None:
            old = current.get("lifecyclestage") or ""
            if old and stage_order(value) < stage_order(old):
                errors.append(
                    PropertyError(
                        "INVALID_OPTION",
                        "lifecyclestage cannot be set backward; clear it first",
                        name,
                    )
                )
    return errors


_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MS_RE = re.compile(r"^-?\d{1,15}$")


def typed_value_problem(kind: str, value: str) -> tuple[str, str] | None:
    """(error code, message) when `value` does not fit a property of type `kind`.

    The stricter reading of HubSpot's rules: a number is plain decimal digits; a date is
    ``YYYY-MM-DD`` or epoch milliseconds at midnight UTC (HubSpot refuses other times of
    day with INVALID_DATE); a datetime is epoch milliseconds or ISO 8601 with an offset.
    """
    if kind == "number" and not _NUMBER_RE.match(value):
        return "INVALID_DECIMAL", f"{value} was not a valid number."
    if kind == "date":
        if _DATE_RE.match(value):
            try:
                date.fromisoformat(value)
            except ValueError:
                return "INVALID_DATE", f"{value} is not a valid date."
            return None
        if not _MS_RE.match(value):
            return "INVALID_DATE", f"{value} is not a valid date."
        moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        if moment.time() != time(0):
            return "INVALID_DATE", f"{value} is at {moment.time()} UTC, not midnight!"
    if kind == "datetime" and not _MS_RE.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "INVALID_DATETIME", f"{value} is not a valid date and time."
        if moment.tzinfo is None:
            return "INVALID_DATETIME", f"{value} has no time zone offset."
    return None


def normalise_value(name: str, raw: Any) -> str:
    """Store every value as a string; emails lose surrounding whitespace."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    value = str(raw)
    return value.strip() if name == "email" else value
