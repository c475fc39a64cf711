"""Mailchimp audience fields: the member fields every audience has and its merge fields as
`FieldInfo`, and the merge field Baton creates for a `FieldSpec`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from connectors.fields import TEXT_HOLDS, FieldCreationRefused, FieldInfo, FieldSpec

MERGE_PREFIX = "merge_fields."
TAG_MAX = 10
# About 30 merge fields per audience on standard plans, the defaults included.
MERGE_FIELD_LIMIT = 30
_TAG_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")

# Member fields outside merge_fields that a mapping may bind.
MEMBER_FIELDS = (
    FieldInfo("email_address", "Email address", "email", canonical_type="email"),
    FieldInfo("status", "Subscription status", "status", options=_STATUSES),
    FieldInfo("tags", "Tags", "tags"),
    FieldInfo("id", "Subscriber hash", "text", read_only=True),
    FieldInfo("full_name", "Full name", "text", read_only=True, canonical_type="string"),
    FieldInfo("last_changed", "Last changed", "datetime", read_only=True),
    FieldInfo("unsubscribe_reason", "Unsubscribe reason", "text", read_only=True),
)
# merge field type -> canonical type, for reading an audience (address and birthday have
# none: an address is several parts, a birthday has no year).
_CANONICAL = {
    "text": "string",
    "number": "number",
    "phone": "phone",
    "date": "date",
    "url": "string",
    "imageurl": "string",
    "zip": "string",
    "dropdown": "enum",
    "radio": "enum",
}
# The fields every audience has for Baton's standard fields (FNAME, LNAME and PHONE are
# the default merge fields).
STANDARD_FIELDS = {
    "email": "email_address",
    "first_name": f"{MERGE_PREFIX}FNAME",
    "last_name": f"{MERGE_PREFIX}LNAME",
    "phone": f"{MERGE_PREFIX}PHONE",
}
# The member's status is its consent; `archived` reads as "not specified", and a new
# member with no recorded consent is added as transactional, never subscribed.
CONSENT_BINDING = {
    "field": "status",
    "values": {
        "opted_in": "subscribed",
        "pending": "pending",
        "opted_out": "unsubscribed",
        "bounced": "cleaned",
        "not_specified": "transactional",
    },
    "read_values": {
        "subscribed": "opted_in",
        "pending": "pending",
        "unsubscribed": "opted_out",
        "cleaned": "bounced",
        "transactional": "not_specified",
        "archived": "not_specified",
    },
}

# canonical type -> merge field type. Phones go in text fields: a `phone` field in US
# format refuses the E.164 numbers Baton writes.
_TYPES: dict[str, str] = {
    "string": "text",
    "email": "text",
    "phone": "text",
    "number": "number",
    "boolean": "dropdown",
    "date": "date",
    "datetime": "text",
    "enum": "dropdown",
    "multi_select": "text",
}


# Vendor type -> the canonical types a field of that type can hold.
HOLDS: dict[str, frozenset[str]] = {
    "text": TEXT_HOLDS,
    "email": frozenset({"email"}),
    "phone": frozenset({"phone"}),
    "number": frozenset({"number"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
    "dropdown": frozenset({"enum", "boolean"}),
    "radio": frozenset({"enum", "boolean"}),
    "status": frozenset({"consent"}),
    "tags": frozenset({"multi_select"}),
}


def field_info(merge: Mapping[str, Any]) -> FieldInfo:
    """A merge field from `/lists/{id}/merge-fields` as a `FieldInfo`."""
    kind = str(merge.get("type") or "text")
    choices = (merge.get("options") or {}).get("choices") or []
    options = tuple(str(c) for c in choices) if kind in ("dropdown", "radio") else None
    return FieldInfo(
        name=f"{MERGE_PREFIX}{merge.get('tag')}",
        label=str(merge.get("name") or merge.get("tag")),
        type=kind,
        options=options,
        option_labels=options or (),
        custom=str(merge.get("tag")) not in ("FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY"),
        vendor_id=str(merge.get("merge_id")),
        canonical_type=_CANONICAL.get(kind),
    )


def tag_problem(tag: str) -> str | None:
    """Why `tag` can never be a merge tag (Mailchimp caps tags at 10 characters)."""
    if len(tag) > TAG_MAX:
        return (
            f"merge tag {tag!r} is {len(tag)} characters; Mailchimp allows at most "
            f"{TAG_MAX}: shorten it (e.g. {tag[:TAG_MAX]!r})"
        )
    if not _TAG_RE.match(tag):
        return (
            f"merge tag {tag!r} must be upper-case letters, digits or _ "
            f"and start with a letter (e.g. {re.sub(r'[^A-Z0-9_]', '', tag.upper())!r})"
        )
    return None


def field_name_problem(name: str) -> str | None:
    """Why `name` can never be a field of an audience: a merge tag Mailchimp refuses, or
    a member field audiences do not have."""
    if name.startswith(MERGE_PREFIX):
        return tag_problem(name[len(MERGE_PREFIX) :])
    members = [f.name for f in MEMBER_FIELDS]
    if name in members:
        return None
    close = difflib.get_close_matches(name, members, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"audiences have no member field {name!r}: {hint}member fields are "
        f"{', '.join(members)}; custom fields are merge_fields.TAG"
    )


def creation_problem(spec: FieldSpec) -> str | None:
    if not spec.name.startswith(MERGE_PREFIX):
        return "only merge fields (merge_fields.TAG) can be created in an audience"
    problem = tag_problem(spec.name[len(MERGE_PREFIX) :])
    if problem is not None:
        return problem
    if spec.type == "consent":
        return "consent lives in the member's status, never a merge field"
    if spec.type not in _TYPES:
        return f"no merge field type holds {spec.type!r} values"
    if _TYPES[spec.type] == "dropdown" and spec.type == "enum" and not spec.options:
        return "a dropdown needs its choices: list the values under `values:`"
    return None


def merge_field_body(spec: FieldSpec) -> dict[str, Any]:
    """The `POST /lists/{id}/merge-fields` body for `spec`; raises when it cannot be."""
    problem = creation_problem(spec)
    if problem is not None:
        raise FieldCreationRefused("mailchimp", spec.name, problem)
    kind = _TYPES[spec.type]
    # A dropdown stores the choice itself: the values Baton writes are the choices.
    choices = list(spec.options)
    if kind == "dropdown" and not choices:
        choices = ["true", "false"]
    body: dict[str, Any] = {
        "tag": spec.name[len(MERGE_PREFIX) :],
        "name": spec.label,
        "type": kind,
        "required": False,
        "public": False,
    }
    if kind == "dropdown":
        body["options"] = {"choices": choices}
    return body
