"""An audience's merge fields: definitions, creation and edit rules, value checks.

Where Mailchimp's documentation leaves a point open, this takes the stricter reading:

- a ``tag`` must already be upper case (letters, digits, ``_``; starting with a letter) and at
  most 10 characters; Mailchimp may fix up some tags itself, this sandbox refuses them;
- an audience holds at most 30 merge fields, the defaults (FNAME, LNAME, ADDRESS, PHONE,
  BIRTHDAY) included; the 31st is refused;
- ``dropdown`` and ``radio`` fields need a non-empty ``options.choices`` list of distinct,
  non-blank strings; a member value outside the choices is refused (``""`` clears);
- editing a field (PATCH) needs its ``name`` (the spec's PATCH body requires it) and cannot
  change its tag or type;
- a ``number`` value is plain decimal digits, a ``date`` value ``YYYY-MM-DD`` (whatever the
  field's display format) and a ``birthday`` ``MM/DD``; anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

MERGE_TYPES = frozenset(
    {
        "text",
        "number",
        "address",
        "phone",
        "date",
        "url",
        "imageurl",
        "radio",
        "dropdown",
        "birthday",
        "zip",
    }
)
CHOICE_TYPES = frozenset({"dropdown", "radio"})
# Values the typed fields take through the API (the stricter reading: a date in ISO form
# whatever its display format, a birthday as MM/DD, a number as plain decimal digits).
_VALUE_FORMS = {
    "number": (re.compile(r"^-?\d+(\.\d+)?$"), "a number"),
    "date": (re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"), "a date (YYYY-MM-DD)"),
    "birthday": (re.compile(r"^(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])$"), "a birthday (MM/DD)"),
}
MERGE_FIELD_LIMIT = 30
TAG_MAX = 10
_TAG_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class MergeFieldRefused(ValueError):
    """A merge-field definition write Mailchimp would refuse (rendered as a 400)."""

    def __init__(self, detail: str, field: str = "", status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.status = status


@dataclass(frozen=True)
class MergeFieldDef:
    """One merge field as ``/lists/{id}/merge-fields`` describes it."""

    tag: str
    name: str
    type: str
    choices: tuple[str, ...] = ()
    merge_id: int = 0
    required: bool = False
    default_value: str = ""
    public: bool = False
    display_order: int = 0
    help_text: str = ""

    def to_json(self, list_id: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.type == "phone":
            options["phone_format"] = "US"
        elif self.type in ("date", "birthday"):
            options["date_format"] = "MM/DD/YYYY" if self.type == "date" else "MM/DD"
        elif self.type == "address":
            options["default_country"] = 164
        elif self.type == "text":
            options["size"] = 25
        if self.type in CHOICE_TYPES:
            options["choices"] = list(self.choices)
        return {
            "merge_id": self.merge_id,
            "tag": self.tag,
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default_value": self.default_value,
            "public": self.public,
            "display_order": self.display_order,
            "options": options,
            "help_text": self.help_text,
            "list_id": list_id,
        }


def _choices(body: Mapping[str, Any], kind: str, required: bool) -> tuple[str, ...]:
    options = body.get("options")
    if options is not None and not isinstance(options, dict):
        raise MergeFieldRefused("options must be an object.", "options")
    raw = (options or {}).get("choices")
    if raw is None:
        if required:
            raise MergeFieldRefused(
                f"A {kind} merge field needs options.choices (the values contacts pick from).",
                "options.choices",
            )
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str) and c.strip() for c in raw):
        raise MergeFieldRefused(
            "options.choices must be a list of non-blank strings.", "options.choices"
        )
    if not raw and required:
        raise MergeFieldRefused(f"A {kind} merge field needs at least one choice.", "choices")
    if len(set(raw)) != len(raw):
        raise MergeFieldRefused("options.choices must not repeat a value.", "options.choices")
    return tuple(raw)


class MergeFieldRegistry:
    """The merge fields of one audience, in merge-id order."""

    def __init__(self, fields: Iterable[MergeFieldDef] = ()) -> None:
        self.fields: dict[str, MergeFieldDef] = {}
        self.next_id = 1
        for field in fields:
            self._add(field)

    def _add(self, field: MergeFieldDef) -> MergeFieldDef:
        field = replace(field, merge_id=self.next_id, display_order=self.next_id)
        self.next_id += 1
        self.fields[field.tag] = field
        return field

    @property
    def tags(self) -> list[str]:
        return list(self.fields)

    def by_id(self, merge_id: str) -> MergeFieldDef | None:
        if not merge_id.isdigit():
            return None
        return next((f for f in self.fields.values() if f.merge_id == int(merge_id)), None)

    def create(self, body: Mapping[str, Any]) -> MergeFieldDef:
        """Validate and add a field from a POST body; raises `MergeFieldRefused`."""
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MergeFieldRefused("name is required and must not be blank.", "name")
        kind = body.get("type")
        if kind not in MERGE_TYPES:
            raise MergeFieldRefused(
                "type must be one of: " + ", ".join(sorted(MERGE_TYPES)) + ".", "type"
            )
        tag = body.get("tag")
        if tag is None or tag == "":
            tag = f"MMERGE{self.next_id}"
        if not isinstance(tag, str) or len(tag) > TAG_MAX or not _TAG_RE.match(tag):
            raise MergeFieldRefused(
                f"tag {tag!r} must be 1 to {TAG_MAX} upper-case letters, digits or _ "
                "and start with a letter.",
                "tag",
            )
        if tag in self.fields:
            raise MergeFieldRefused(
                f"A Merge Field with the tag {tag} already exists for this list.", "tag"
            )
        if len(self.fields) >= MERGE_FIELD_LIMIT:
            raise MergeFieldRefused(
                f"This audience already has {len(self.fields)} merge fields, the most an "
                f"audience may hold ({MERGE_FIELD_LIMIT}, the defaults included).",
                "tag",
            )
        choices = _choices(body, str(kind), str(kind) in CHOICE_TYPES)
        if choices and kind not in CHOICE_TYPES:
            raise MergeFieldRefused(
                "options.choices is only allowed for dropdown and radio fields.", "options"
            )
        return self._add(
            MergeFieldDef(
                tag=tag,
                name=name.strip(),
                type=str(kind),
                choices=choices,
                required=bool(body.get("required", False)),
                default_value=str(body.get("default_value") or ""),
                public=bool(body.get("public", False)),
                help_text=str(body.get("help_text") or ""),
            )
        )

    def update(self, field: MergeFieldDef, body: Mapping[str, Any]) -> MergeFieldDef:
        """PATCH: name, choices and flags; tag and type stay as they are."""
        if "tag" in body and body["tag"] != field.tag:
            raise MergeFieldRefused("A merge field's tag cannot be changed here.", "tag")
        if "type" in body and body["type"] != field.type:
            raise MergeFieldRefused("A merge field's type cannot be changed.", "type")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MergeFieldRefused("name is required and must not be blank.", "name")
        changes: dict[str, Any] = {"name": name.strip()}
        if "options" in body:
            choices = _choices(body, field.type, field.type in CHOICE_TYPES)
            if choices and field.type not in CHOICE_TYPES:
                raise MergeFieldRefused(
                    "options.choices is only allowed for dropdown and radio fields.", "options"
                )
            if field.type in CHOICE_TYPES:
                changes["choices"] = choices
        for flag in ("required", "public"):
            if flag in body:
                changes[flag] = bool(body[flag])
        for text in ("default_value", "help_text"):
            if text in body:
                changes[text] = str(body[text] or "")
        updated = replace(field, **changes)
        self.fields[field.tag] = updated
        return updated

    def value_problem(self, tag: str, value: Any) -> str | None:
        """Why a member may not hold ``value`` in ``tag`` (None when it may)."""
        field = self.fields.get(tag)
        if field is None:
            return f"Merge field {tag} does not exist on this list."
        text = "" if value is None else str(value)
        if field.type in CHOICE_TYPES and text and text not in field.choices:
            return f"{text!r} is not one of the choices of {tag}: " + ", ".join(field.choices) + "."
        if text and field.type in _VALUE_FORMS and not _VALUE_FORMS[field.type][0].match(text):
            return f"{text!r} is not {_VALUE_FORMS[field.type][1]} for {tag}."
        return None
