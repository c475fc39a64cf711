"""A stable fingerprint of the effective mapping: what each field's definition is, part by
part, and one version hash for the whole file.

The fingerprint is taken from the loaded mapping, not from its text: defaults are filled
in (an omitted `direction:` is `both`), built-in fields carry their fixed type, transform
aliases read as the transform they name, and key order does not count. Reformatting the
file, reordering keys or adding comments is therefore no new version; changing what a
field means is.

`document` is the effective mapping as plain JSON data: it is what Baton stores with each
version, and what `mapping.changes` compares a stored version with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mapping.config import Binding, FieldMapping, MappingConfig, OwnerPolicy
from mapping.schema import FieldType
from mapping.transforms import build

Document = dict[str, Any]
"""The effective mapping as JSON data: {"version", "phone_region", "fields": {...}}."""


class Aspect(StrEnum):
    """One part of a field's definition; binding aspects exist once per system."""

    TYPE = "type"
    CHOICES = "choices"
    UNMAPPED = "unmapped"
    """`unmapped:` with its `default:`."""
    POLICY = "policy"
    SENSITIVE = "sensitive"
    FIELD = "field"
    """Which vendor field holds it (the binding itself)."""
    DIRECTION = "direction"
    VALUES = "values"
    """`values:` with `read_values:`."""
    TRANSFORMS = "transforms"


FIELD_ASPECTS = (Aspect.TYPE, Aspect.CHOICES, Aspect.UNMAPPED, Aspect.POLICY, Aspect.SENSITIVE)
BINDING_ASPECTS = (Aspect.FIELD, Aspect.DIRECTION, Aspect.VALUES, Aspect.TRANSFORMS)


@dataclass(frozen=True, order=True)
class Part:
    """An aspect of a field, of one system's binding for binding aspects."""

    aspect: Aspect
    system: str | None = None

    def __str__(self) -> str:
        return str(self.aspect) if self.system is None else f"{self.system}.{self.aspect}"


@dataclass(frozen=True)
class FieldPrint:
    """Each part of one field's definition as canonical text, and a digest of them all."""

    name: str
    parts: Mapping[Part, str]

    @property
    def digest(self) -> str:
        return _sha256({str(p): v for p, v in self.parts.items()})

    def changed_parts(self, other: FieldPrint) -> list[Part]:
        """Parts that differ, including parts only one of the two has (a new binding)."""
        keys = set(self.parts) | set(other.parts)
        return sorted(p for p in keys if self.parts.get(p) != other.parts.get(p))


def document(config: MappingConfig) -> Document:
    """The effective mapping as JSON data (sorted, defaults filled in)."""
    return {
        "version": config.version,
        "phone_region": config.phone_region.upper(),
        "fields": {name: _field_document(name, config) for name in sorted(config.fields)},
    }


def _field_document(name: str, config: MappingConfig) -> dict[str, Any]:
    fm: FieldMapping = config.fields[name]
    spec = config.spec(name)
    return {
        "type": str(spec.type),
        "choices": list(spec.choices),
        "unmapped": str(spec.unmapped),
        "default": spec.default,
        "policy": _policy(fm),
        "sensitive": bool(fm.sensitive or spec.sensitive),
        "bindings": {system: _binding_document(b) for system, b in sorted(fm.bindings.items())},
    }


def _policy(fm: FieldMapping) -> str | dict[str, str]:
    return {"owner": fm.policy.owner} if isinstance(fm.policy, OwnerPolicy) else str(fm.policy)


def _binding_document(binding: Binding) -> dict[str, Any]:
    return {
        "field": binding.field,
        "direction": str(binding.direction),
        "values": binding.values,
        "read_values": binding.read_values,
        "transforms": [_transform(t) for t in binding.transforms],
    }


def _transform(item: str | Mapping[str, Any]) -> Any:
    """A transform as the step it builds (`lowercase` is `lower`), with its argument."""
    name = build(item).name
    if isinstance(item, str):
        return name
    (arg,) = item.values()
    return {name: arg}


def field_prints(doc: Document) -> dict[str, FieldPrint]:
    """Every field's fingerprint, from a `document` (stored or current)."""
    region = str(doc.get("phone_region", "US"))
    return {name: _field_print(name, body, region) for name, body in doc["fields"].items()}


def _field_print(name: str, body: Mapping[str, Any], region: str) -> FieldPrint:
    kind = body["type"]
    # Where a phone number without a country code is read is part of what a phone field is.
    shown_type = f"{kind} ({region})" if kind == FieldType.PHONE else kind
    parts: dict[Part, str] = {
        Part(Aspect.TYPE): _canonical(shown_type),
        Part(Aspect.CHOICES): _canonical(body["choices"]),
        Part(Aspect.UNMAPPED): _canonical([body["unmapped"], body["default"]]),
        Part(Aspect.POLICY): _canonical(body["policy"]),
        Part(Aspect.SENSITIVE): _canonical(body["sensitive"]),
    }
    for system, binding in body["bindings"].items():
        parts[Part(Aspect.FIELD, system)] = _canonical(binding["field"])
        parts[Part(Aspect.DIRECTION, system)] = _canonical(binding["direction"])
        parts[Part(Aspect.VALUES, system)] = _canonical([binding["values"], binding["read_values"]])
        parts[Part(Aspect.TRANSFORMS, system)] = _canonical(binding["transforms"])
    return FieldPrint(name, parts)


def version_hash(doc: Document) -> str:
    """The whole mapping's version: equal documents, equal hashes (64 hex digits)."""
    return _sha256(doc)


def short(version: str) -> str:
    """The first 12 digits, as `baton mapping history` shows a version."""
    return version[:12]


def _canonical(value: Any) -> str:
    # `default=str`: YAML can give a transform argument as a date or a time.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha256(value: Any) -> str:
    return hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()
