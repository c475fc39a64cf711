"""Translate single values and whole records between vendor and canonical form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.contract import FieldValue
from mapping.config import Binding, MappingConfig
from mapping.errors import FieldRejected
from mapping.schema import CANONICAL_FIELDS, IDENTITY_FIELD, CanonicalField, FieldType
from mapping.transforms import NAMED as NAMED_TRANSFORMS
from mapping.transforms import collapse_spaces, email, phone_e164

CanonicalValues = dict[str, str | None]


def vendor_text(value: FieldValue) -> str | None:
    """A vendor value as comparable text; empty means absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(sorted(value)) or None
    text = str(value)
    return text if text.strip() else None


def same_vendor_value(a: FieldValue, b: FieldValue) -> bool:
    return vendor_text(a) == vendor_text(b)


def to_canonical(spec: CanonicalField, binding: Binding, raw: FieldValue) -> str | None:
    """Vendor value -> canonical value; raises `FieldRejected` naming the field."""
    text = vendor_text(raw)
    if text is None:
        return None
    try:
        for name in binding.transforms:
            text = NAMED_TRANSFORMS[name](text)
        return _by_type(spec, binding, text)
    except ValueError as exc:
        raise FieldRejected(spec.name, f"{binding.field}: {exc}") from None


def _by_type(spec: CanonicalField, binding: Binding, text: str) -> str | None:
    if spec.type is FieldType.EMAIL:
        return email(text)
    if spec.type is FieldType.PHONE:
        return phone_e164(text)
    if spec.type in (FieldType.ENUM, FieldType.CONSENT):
        value = text.strip()
        table = binding.vendor_to_canonical()
        if table is not None:
            if value not in table:
                known = ", ".join(sorted(table))
                raise ValueError(f"{value!r} has no canonical value (mapped: {known})")
            value = table[value]
        if spec.choices and value not in spec.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(spec.choices)}")
        return value
    cleaned = collapse_spaces(text)
    return cleaned or None


def to_vendor(binding: Binding, value: str | None) -> FieldValue:
    """Canonical value -> vendor value (None stays None)."""
    if value is None:
        return None
    if binding.values is not None:
        return binding.values.get(value)
    return value


@dataclass
class Translation:
    """A record's canonical values, plus the fields that could not be read.

    `email` is the normalized identity; None when `unidentified` says why the
    record cannot be matched at all (then nothing else of it is used).
    """

    values: CanonicalValues = field(default_factory=dict)
    rejected: list[FieldRejected] = field(default_factory=list)
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
            CANONICAL_FIELDS[IDENTITY_FIELD], identity, fields.get(identity.field, email)
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
        try:
            out.values[name] = to_canonical(
                CANONICAL_FIELDS[name], binding, fields.get(binding.field)
            )
        except FieldRejected as exc:
            out.rejected.append(exc)
    return out
