"""HubSpot contact property definitions: reading them as `FieldInfo`, and the property
Baton creates for a `FieldSpec` (type / fieldType pair, options, Baton's own group)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.fields import TEXT_HOLDS, FieldCreationRefused, FieldInfo, FieldSpec, labels_for
from connectors.hubspot_consent import CONSENT_PROPERTY

# Custom properties Baton creates live in a group of their own, so an admin sees at a
# glance which fields an integration added.
BATON_GROUP = "baton"
BATON_GROUP_LABEL = "Baton"

# canonical type -> (type, fieldType)
_TYPES: dict[str, tuple[str, str]] = {
    "string": ("string", "text"),
    "email": ("string", "text"),
    "phone": ("string", "phonenumber"),
    "number": ("number", "number"),
    "boolean": ("bool", "booleancheckbox"),
    "date": ("date", "date"),
    "datetime": ("datetime", "date"),
    "enum": ("enumeration", "select"),
    "multi_select": ("enumeration", "checkbox"),
}
# Vendor type -> the canonical types a field of that type can hold.
HOLDS: dict[str, frozenset[str]] = {
    "string": TEXT_HOLDS,
    "phone_number": frozenset({"phone"}),
    "number": frozenset({"number"}),
    "bool": frozenset({"boolean", "consent"}),
    "enumeration": frozenset({"enum", "multi_select", "boolean"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# (type, fieldType) -> canonical type, for reading a portal; a type alone covers the rest.
_CANONICAL: dict[tuple[str, str | None], str] = {
    ("string", "phonenumber"): "phone",
    ("string", None): "string",
    ("phone_number", None): "phone",
    ("number", None): "number",
    ("bool", None): "boolean",
    ("date", None): "date",
    ("datetime", None): "datetime",
    ("enumeration", "checkbox"): "multi_select",
    ("enumeration", None): "enum",
}

# The contact properties every portal has for Baton's standard fields.
STANDARD_FIELDS = {
    "email": "email",
    "first_name": "firstname",
    "last_name": "lastname",
    "phone": "phone",
    "organization": "company",
    "job_title": "jobtitle",
}
# HubSpot's opt-out is a yes/no flag: only an opt-out (or bounce) shows as "true".
CONSENT_BINDING = {
    "field": CONSENT_PROPERTY,
    "values": {
        "opted_out": "true",
        "bounced": "true",
        "opted_in": "false",
        "pending": "false",
        "not_specified": "false",
    },
    "read_values": {"true": "opted_out", "false": "not_specified"},
}


def field_info(prop: Mapping[str, Any]) -> FieldInfo:
    """A property from `/crm/v3/properties/contacts` as a `FieldInfo`."""
    meta = prop.get("modificationMetadata") or {}
    options = [o for o in prop.get("options") or [] if isinstance(o, dict)]
    kind = str(prop.get("type") or "string")
    field_type = str(prop.get("fieldType") or "")
    has_options = kind in ("enumeration", "bool") and not prop.get("externalOptions")
    return FieldInfo(
        name=str(prop.get("name")),
        label=str(prop.get("label") or prop.get("name")),
        type=kind,
        options=tuple(str(o.get("value")) for o in options) if has_options else None,
        option_labels=tuple(str(o.get("label") or o.get("value")) for o in options),
        read_only=bool(meta.get("readOnlyValue") or prop.get("calculated")),
        custom=not prop.get("hubspotDefined", False),
        editable=not meta.get("readOnlyDefinition", False),
        canonical_type=_CANONICAL.get((kind, field_type)) or _CANONICAL.get((kind, None)),
    )


def creation_problem(spec: FieldSpec) -> str | None:
    if spec.type == "consent":
        return "consent is recorded through HubSpot's own opt-out, never a new property"
    if spec.type not in _TYPES:
        return f"no HubSpot property type holds {spec.type!r} values"
    if not _NAME_RE.match(spec.name) or spec.name.startswith("hs_"):
        return (
            "a new property's name must be lower-case letters, digits or _, start with a "
            "letter and not start with hs_ (HubSpot's own prefix)"
        )
    if _TYPES[spec.type][0] == "enumeration" and not spec.options:
        return "an enumeration property needs its values: list them under `values:`"
    return None


def property_body(spec: FieldSpec) -> dict[str, Any]:
    """The `POST /crm/v3/properties/contacts` body for `spec`; raises when it cannot be."""
    problem = creation_problem(spec)
    if problem is not None:
        raise FieldCreationRefused("hubspot", spec.name, problem)
    kind, field_type = _TYPES[spec.type]
    body: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "type": kind,
        "fieldType": field_type,
        "groupName": BATON_GROUP,
        "description": "Created by Baton for its field mapping.",
    }
    if kind == "bool":
        body["options"] = options_json(("true", "false"), ("Yes", "No"))
    elif kind == "enumeration":
        body["options"] = options_json(spec.options, labels_for(spec))
    return body


def options_json(values: Sequence[str], labels: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "hidden": False, "displayOrder": order}
        for order, (value, label) in enumerate(zip(values, labels, strict=True))
    ]


def extended_options(
    current: Sequence[Mapping[str, Any]], values: Sequence[str], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """The whole options list after adding `values` (PATCH replaces the list)."""
    orders = [int(o.get("displayOrder", n)) for n, o in enumerate(current)]
    kept: list[dict[str, Any]] = [
        {
            "label": str(o.get("label") or o.get("value")),
            "value": str(o.get("value")),
            "hidden": bool(o.get("hidden", False)),
            "displayOrder": order,
        }
        for order, o in zip(orders, current, strict=True)
    ]
    have = {o["value"] for o in kept}
    start = max(orders, default=-1) + 1
    added = [(v, label) for v, label in zip(values, labels, strict=True) if v not in have]
    kept.extend(
        {"label": label, "value": value, "hidden": False, "displayOrder": start + n}
        for n, (value, label) in enumerate(added)
    )
    return kept
