"""Translate single values and whole records between vendor and canonical form.

Reading a value: the binding's transforms, then its value map (enums, booleans), then the
field type's normal form (`mapping.types`), then the field's `unmapped:` setting for a
value outside its choices. Writing is the way back: value map, then the transforms'
`write` steps in reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from connectors.contract import FieldValue
from mapping.config import Binding, MappingConfig
from mapping.errors import FieldRejected
from mapping.schema import IDENTITY_FIELD, CanonicalField, FieldType, Unmapped
from mapping.transforms import join_name, read_through, write_through
from mapping.types import join_multi, normalize, split_multi

CanonicalValues = dict[str, str | None]


def vendor_text(value: FieldValue) -> str | None:
    """A vendor value as comparable text; empty means absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(sorted(value)) or None
    if isinstance(value, float):
        # Plain digits: str() would write a large or tiny float with an exponent.
        return format(Decimal(repr(value)), "f")
    text = str(value)
    return text if text.strip() else None


def same_vendor_value(a: FieldValue, b: FieldValue) -> bool:
    return vendor_text(a) == vendor_text(b)


def to_canonical(spec: CanonicalField, binding: Binding, raw: FieldValue) -> str | None:
    """Vendor value -> canonical value; raises `FieldRejected` naming the field and value."""
    if isinstance(raw, list) and spec.type is FieldType.MULTI_SELECT:
        raw = ";".join(str(v) for v in raw)
    text = vendor_text(raw)
    if binding.constant is not None:
        return binding.constant
    if text is None:
        return None
    try:
        value = read_through(binding.steps, text)
        if not value.strip():
            return None
        if spec.type is FieldType.MULTI_SELECT:
            items = [_choice(spec, binding, item) for item in split_multi(value)]
            return join_multi([i for i in items if i is not None]) or None
        if spec.has_choices or binding.vendor_to_canonical() is not None:
            return _choice(spec, binding, value)
        return normalize(spec.type, value, region=spec.region) or None
    except ValueError as exc:
        raise FieldRejected(spec.name, f"{binding.field}: {exc}", value=text) from None


def _choice(spec: CanonicalField, binding: Binding, text: str) -> str | None:
    """One choice of an enum (or an item of a multi-select), as `unmapped:` says."""
    value = text.strip()
    table = binding.vendor_to_canonical()
    known = value in table if table is not None else value in spec.choices
    if table is not None and value in table:
        value = table[value]
    elif spec.type is FieldType.BOOLEAN:
        return normalize(FieldType.BOOLEAN, value)
    if not spec.choices or (known and value in spec.choices):
        return value
    if spec.unmapped is Unmapped.DEFAULT and spec.default is not None:
        return spec.default
    if spec.unmapped is Unmapped.DEAD_LETTER or spec.type is FieldType.CONSENT:
        mapped = sorted(table) if table is not None else list(spec.choices)
        raise ValueError(f"{text.strip()!r} has no canonical value (mapped: {', '.join(mapped)})")
    return value  # keep: carried as it is


def reads_as(spec: CanonicalField, binding: Binding, raw: FieldValue, value: str | None) -> bool:
    """Does the vendor value `raw` already mean the canonical `value`?

    Stricter than reading it: a value the binding's value map does not list means nothing
    yet (it is carried as it is only on its way in), so Baton still writes the mapped one.
    """
    table = binding.vendor_to_canonical()
    text = vendor_text(raw)
    if (
        table is not None
        and text is not None
        and spec.type is not FieldType.MULTI_SELECT
        and text.strip() not in table
    ):
        return False
    try:
        return to_canonical(spec, binding, raw) == value
    except FieldRejected:
        return False


def outside_choices(spec: CanonicalField, value: str | None) -> bool:
    """Is `value` one `unmapped: keep` carried in although the field does not list it?"""
    if value is None or not spec.has_choices or not spec.choices:
        return False
    if spec.type is FieldType.MULTI_SELECT:
        return any(item not in spec.choices for item in split_multi(value))
    return value not in spec.choices


def to_vendor(spec: CanonicalField, binding: Binding, value: str | None) -> FieldValue:
    """Canonical value -> vendor value. None stays None; so does a kept value outside the
    field's choices, and one the binding's value map does not list: a system is never sent
    a value it may not hold (its refusal would hold back the whole record's write)."""
    if binding.constant is not None:
        return binding.constant
    if value is None or outside_choices(spec, value):
        return None
    if spec.type is FieldType.MULTI_SELECT:
        items = [_one_to_vendor(binding, item) for item in split_multi(value)]
        if any(i is None for i in items):
            return None
        return write_through(binding.steps, join_multi([i for i in items if i is not None]))
    mapped = _one_to_vendor(binding, value)
    return None if mapped is None else write_through(binding.steps, mapped)


def _one_to_vendor(binding: Binding, value: str) -> str | None:
    if binding.values is None:
        return value
    return binding.values.get(value)


def whole_name(values: Mapping[str, str | None], parts: Mapping[str, str]) -> str | None:
    """The vendor's whole-name value from the canonical first / last name fields.

    `parts` maps `first` / `last` to the canonical field that holds it.
    """
    joined = join_name(values.get(parts.get("first", "")), values.get(parts.get("last", "")))
    return joined or None


@dataclass
class Translation:
    """A record's canonical values, plus the fields that could not be read.

    `email` is the normalized identity; None when `unidentified` says why the
    record cannot be matched at all (then nothing else of it is used).
    """

    values: CanonicalValues = field(default_factory=dict)
    rejected: list[FieldRejected] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Fields whose value is not among their choices, kept as it is (`unmapped: keep`)."""
    email: str | None = None
    unidentified: FieldRejected | None = None


def read_record(
    config: MappingConfig,
    system: str,
    fields: Mapping[str, FieldValue],
    email: str | None = None,
) -> Translation:
    """A vendor record in canonical form: its identity first, then every field.

    `email` is the address the connector found outside the mapped fields,
    used when the identity field itself is absent.
    """
    identity = config.identity_binding(system)
    try:
        address = to_canonical(
            config.spec(IDENTITY_FIELD), identity, fields.get(identity.field, email)
        )
    except FieldRejected as exc:
        return Translation(unidentified=exc)
    if address is None:
        reason = f"{identity.field} is empty; contacts are matched by email"
        return Translation(unidentified=FieldRejected(IDENTITY_FIELD, reason))
    out = translate_record(config, system, fields)
    out.email = address
    return out


def translate_record(
    config: MappingConfig, system: str, fields: Mapping[str, FieldValue]
) -> Translation:
    """Read every field the mapping pulls from `system`; bad fields are collected."""
    out = Translation()
    for name, binding in config.bound(system):
        if not binding.pulls:
            continue
        spec = config.spec(name)
        try:
            out.values[name] = to_canonical(spec, binding, fields.get(binding.field))
        except FieldRejected as exc:
            out.rejected.append(exc)
            continue
        if outside_choices(spec, out.values[name]):
            out.kept.append(name)
    return out
