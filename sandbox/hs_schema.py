"""A portal's contact property definitions and groups, with HubSpot's rules for creating and
editing them (``POST /crm/v3/properties/contacts``, ``PATCH …/{name}``, ``…/groups``).

Where HubSpot's documentation leaves a point open, this takes the stricter reading:

- a new property's ``name`` must be lower case (letters, digits, ``_``, starting with a letter)
  and may not start with ``hs_`` (HubSpot's own prefix);
- its ``groupName`` must name an existing group;
- only these ``type``/``fieldType`` pairs are valid: string with text, textarea, phonenumber,
  html or file; number with number; date and datetime with date; bool with booleancheckbox;
  enumeration with select, radio, checkbox or booleancheckbox; phone_number with phonenumber;
- an enumeration needs a non-empty ``options`` list; every option needs ``label``, ``value``
  and ``hidden`` (the spec's ``OptionInput``), and values must be distinct and non-blank;
- ``description``, ``displayOrder``, ``hidden``, ``formField`` and ``hasUniqueValue`` must have
  their JSON types (a boolean is not a number); options keep their ``hidden`` flag and
  ``displayOrder`` as written, and a hidden option is still a valid value;
- HubSpot-defined properties cannot be edited through PATCH (real portals allow a few, such as
  the options of ``lifecyclestage``; Baton never relies on that).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sandbox.hs_properties import PropertyDef
from sandbox.timefmt import hubspot_iso, utcnow

VALID_FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "phonenumber", "html", "file"}),
    "number": frozenset({"number"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "bool": frozenset({"booleancheckbox"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "phone_number": frozenset({"phonenumber"}),
}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_MAX = 100
REQUIRED = ("name", "label", "type", "fieldType", "groupName")

STANDARD_GROUPS: dict[str, str] = {
    "contactinformation": "Contact information",
    "emailinformation": "Email information",
    "analyticsinformation": "Web analytics history",
    "sales_properties": "Sales properties",
}


@dataclass(frozen=True)
class SchemaRefusal:
    """A refused definition write: status, category and message as HubSpot renders them."""

    status: int
    category: str
    message: str
    errors: tuple[dict[str, str], ...] = ()


def _invalid(message: str, name: str = "") -> SchemaRefusal:
    detail = {"message": message, "code": "INVALID_PROPERTY_DEFINITION"}
    if name:
        detail["in"] = name
    return SchemaRefusal(400, "VALIDATION_ERROR", message, (detail,))


@dataclass(frozen=True)
class OptionSet:
    """Enumeration options as written: labels by value (in order), hidden ones, given orders."""

    labels: dict[str, str]
    hidden: frozenset[str] = frozenset()
    orders: tuple[tuple[str, int], ...] = ()

    def fields(self) -> dict[str, Any]:
        """The PropertyDef fields this option list sets."""
        return {"options": self.labels, "hidden_options": self.hidden, "option_orders": self.orders}


def _options(raw: Any, kind: str) -> OptionSet | SchemaRefusal:
    if raw is None:
        if kind == "enumeration":
            return _invalid("options are required for an enumeration property", "options")
        return OptionSet({})
    if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
        return _invalid("options must be a list of objects", "options")
    if kind == "enumeration" and not raw:
        return _invalid("an enumeration property needs at least one option", "options")
    out: dict[str, str] = {}
    hidden: set[str] = set()
    orders: list[tuple[str, int]] = []
    for index, option in enumerate(raw):
        missing = [k for k in ("label", "value", "hidden") if k not in option]
        if missing:
            return _invalid(f"options[{index}] is missing {', '.join(missing)}", "options")
        value, label = option["value"], option["label"]
        if not isinstance(value, str) or not value.strip() or not isinstance(label, str):
            return _invalid(f"options[{index}] needs a non-blank string value", "options")
        if value in out:
            return _invalid(f"option value {value!r} appears twice", "options")
        if not isinstance(option["hidden"], bool):
            return _invalid(f"options[{index}].hidden must be a boolean", "options")
        order = option.get("displayOrder")
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
            return _invalid(f"options[{index}].displayOrder must be an integer", "options")
        out[value] = label
        if option["hidden"]:
            hidden.add(value)
        if order is not None:
            orders.append((value, order))
    return OptionSet(out, frozenset(hidden), tuple(orders))


# Optional definition fields a write may set: body key -> (PropertyDef field, JSON type).
_EXTRAS: dict[str, tuple[str, type]] = {
    "description": ("description", str),
    "displayOrder": ("display_order", int),
    "hidden": ("hidden", bool),
    "formField": ("form_field", bool),
    "hasUniqueValue": ("has_unique_value", bool),
}


def _extras(body: Mapping[str, Any]) -> dict[str, Any] | SchemaRefusal:
    """The optional fields present in ``body``, type-checked (a bool is not an integer)."""
    out: dict[str, Any] = {}
    for key, (attr, kind) in _EXTRAS.items():
        if key not in body:
            continue
        value = body[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return _invalid(f"{key} must be of type {kind.__name__}", key)
        out[attr] = value
    return out


class PropertyRegistry:
    """Contact properties and property groups of one portal."""

    def __init__(
        self, properties: Iterable[PropertyDef], groups: Mapping[str, str] | None = None
    ) -> None:
        self.properties: dict[str, PropertyDef] = {p.name: p for p in properties}
        self.groups: dict[str, str] = dict(groups if groups is not None else STANDARD_GROUPS)
        for prop in self.properties.values():
            self.groups.setdefault(prop.group, prop.group)

    def create(self, body: Any) -> PropertyDef | SchemaRefusal:
        if not isinstance(body, dict):
            return _invalid("the body must be a property definition object")
        missing = [k for k in REQUIRED if not isinstance(body.get(k), str) or not body[k].strip()]
        if missing:
            return _invalid(f"missing required field(s): {', '.join(missing)}", missing[0])
        name, kind, field_type = body["name"], body["type"], body["fieldType"]
        if name in self.properties:
            return SchemaRefusal(
                409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists."
            )
        if len(name) > NAME_MAX or not _NAME_RE.match(name) or name.startswith("hs_"):
            return _invalid(
                f"property name {name!r} must be lower-case letters, digits or _, start with a "
                "letter and not start with hs_",
                "name",
            )
        problem = self._type_problem(kind, field_type) or self._group_problem(body["groupName"])
        if problem is not None:
            return problem
        options = _options(body.get("options"), kind)
        if isinstance(options, SchemaRefusal):
            return options
        extras = _extras(body)
        if isinstance(extras, SchemaRefusal):
            return extras
        now = hubspot_iso(utcnow())
        prop = PropertyDef(
            name,
            body["label"],
            kind,
            field_type,
            group=body["groupName"],
            custom=True,
            created_at=now,
            updated_at=now,
            **options.fields(),
            **extras,
        )
        self.properties[name] = prop
        return prop

    def update(self, name: str, body: Any) -> PropertyDef | SchemaRefusal:
        prop = self.properties.get(name)
        if prop is None:
            return SchemaRefusal(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        if not isinstance(body, dict):
            return _invalid("the body must be a property update object")
        if not prop.custom:
            return _invalid(
                f"{name} is defined by HubSpot; its definition cannot be changed", "name"
            )
        kind = body.get("type", prop.type)
        field_type = body.get("fieldType", prop.field_type)
        problem = self._type_problem(kind, field_type)
        if problem is None and "groupName" in body:
            problem = self._group_problem(body["groupName"])
        if problem is not None:
            return problem
        changes: dict[str, Any] = {"type": kind, "field_type": field_type}
        if "label" in body:
            if not isinstance(body["label"], str) or not body["label"].strip():
                return _invalid("label must not be blank", "label")
            changes["label"] = body["label"]
        if "groupName" in body:
            changes["group"] = body["groupName"]
        if "options" in body:
            # PATCH replaces the whole list: options left out are gone.
            options = _options(body["options"], kind)
            if isinstance(options, SchemaRefusal):
                return options
            changes.update(options.fields())
        elif kind == "enumeration" and not prop.options:
            return _invalid("options are required for an enumeration property", "options")
        extras = _extras(body)
        if isinstance(extras, SchemaRefusal):
            return extras
        updated = replace(prop, **changes, **extras, updated_at=hubspot_iso(utcnow()))
        self.properties[name] = updated
        return updated

    def create_group(self, body: Any) -> dict[str, Any] | SchemaRefusal:
        if not isinstance(body, dict):
            return _invalid("the body must be a property group object")
        missing = [k for k in ("name", "label") if not isinstance(body.get(k), str) or not body[k]]
        if missing:
            return _invalid(f"missing required field(s): {', '.join(missing)}", missing[0])
        name = body["name"]
        if name in self.groups:
            return SchemaRefusal(
                409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
            )
        if not _NAME_RE.match(name):
            return _invalid(f"group name {name!r} must be lower-case letters, digits or _", "name")
        self.groups[name] = body["label"]
        return group_json(name, body["label"])

    @staticmethod
    def _type_problem(kind: Any, field_type: Any) -> SchemaRefusal | None:
        valid = VALID_FIELD_TYPES.get(kind) if isinstance(kind, str) else None
        if valid is None:
            return _invalid(
                f"type {kind!r} is not one of {', '.join(sorted(VALID_FIELD_TYPES))}", "type"
            )
        if field_type not in valid:
            return _invalid(
                f"fieldType {field_type!r} is not valid for type {kind!r} "
                f"(valid: {', '.join(sorted(valid))})",
                "fieldType",
            )
        return None

    def _group_problem(self, group: Any) -> SchemaRefusal | None:
        if group not in self.groups:
            return _invalid(f"property group {group!r} does not exist", "groupName")
        return None


def group_json(name: str, label: str, order: int = -1) -> dict[str, Any]:
    return {"name": name, "label": label, "displayOrder": order, "archived": False}
