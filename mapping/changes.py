"""What a mapping change means for the sync: old and new effective mapping in, per field
what changed and what has to happen, out. Pure.

Baton keeps, per link, the vendor values it last synced (the shadow: every vendor field
the mapping binds, whatever its direction). So most changes need no new read at all:

- **re-derive**: how a system's value reads changed (its value map, transforms, the
  field's type, choices or `unmapped:` handling, a binding that now pulls): the canonical
  value is read again from the stored vendor value, then planned like any change;
- **re-pull**: a system's value Baton never stored (a vendor field no binding named
  before): only reading that system again brings it in;
- **re-plan**: only how values are written changed (a value map or transforms toward a
  system, a direction, `sensitive:`): the stored canonical values are planned again;
- nothing: a removed field (its values stay in Baton, no longer synced) or a new
  `policy:` (it settles the next conflicting changes, not settled ones).

The identity (`email`) and consent fields are never re-derived: contacts are matched by
the one and the consent rules guard the other; a change to either is planned again (or
re-pulled), never re-read from a stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mapping.fingerprint import Aspect, Document, Part, field_prints, version_hash
from mapping.schema import CONSENT_FIELD, IDENTITY_FIELD


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class FieldChange:
    """One field's change and what the sync does about it."""

    name: str
    kind: ChangeKind
    parts: tuple[str, ...]
    """What changed, e.g. `mailchimp.values`, `hubspot.transforms`, `choices`."""
    rederive_from: tuple[str, ...] = ()
    """Systems whose stored vendor values are read again into the canonical value."""
    repull: tuple[str, ...] = ()
    """Systems whose value Baton never stored: read again from there."""
    replan: bool = False
    """The contacts' writes are planned again (always after a re-derivation)."""

    @property
    def needs_nothing(self) -> bool:
        return not (self.rederive_from or self.repull or self.replan)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.name,
            "kind": str(self.kind),
            "parts": list(self.parts),
            "rederive_from": list(self.rederive_from),
            "repull": list(self.repull),
            "replan": self.replan,
        }


@dataclass(frozen=True)
class MappingChange:
    """Old mapping version -> new one, field by field."""

    old_version: str | None
    new_version: str
    fields: tuple[FieldChange, ...]

    @property
    def empty(self) -> bool:
        return not self.fields

    @property
    def rederive(self) -> dict[str, tuple[str, ...]]:
        """Field -> systems whose stored values it is read again from."""
        return {c.name: c.rederive_from for c in self.fields if c.rederive_from}

    @property
    def replan(self) -> tuple[str, ...]:
        """Fields whose writes are planned again."""
        return tuple(c.name for c in self.fields if c.replan)

    @property
    def repull(self) -> dict[str, tuple[str, ...]]:
        """System -> fields that need it read again."""
        out: dict[str, list[str]] = {}
        for change in self.fields:
            for system in change.repull:
                out.setdefault(system, []).append(change.name)
        return {system: tuple(names) for system, names in sorted(out.items())}

    @property
    def needs_work(self) -> bool:
        return any(not c.needs_nothing for c in self.fields)

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "fields": [c.as_dict() for c in self.fields],
        }


def diff(old: Document | None, new: Document) -> MappingChange:
    """What changed from `old` (None: no version recorded yet) to `new`.

    With no earlier version there is nothing to re-derive: every value Baton holds was
    read with the mapping in use.
    """
    if old is None:
        return MappingChange(None, version_hash(new), ())
    old_prints, new_prints = field_prints(old), field_prints(new)
    stored = _stored_vendor_fields(old)
    changes: list[FieldChange] = []
    for name in sorted(set(old_prints) | set(new_prints)):
        if name not in new_prints:
            changes.append(FieldChange(name, ChangeKind.REMOVED, ()))
        elif name not in old_prints:
            changes.append(_added(name, new["fields"][name], stored))
        else:
            parts = new_prints[name].changed_parts(old_prints[name])
            if parts:
                changes.append(
                    _changed(name, old["fields"][name], new["fields"][name], parts, stored)
                )
    return MappingChange(version_hash(old), version_hash(new), tuple(changes))


def _stored_vendor_fields(doc: Document) -> dict[str, set[str]]:
    """System -> the vendor fields its shadows hold under this mapping (every bound one)."""
    out: dict[str, set[str]] = {}
    for body in doc["fields"].values():
        for system, binding in body["bindings"].items():
            out.setdefault(system, set()).add(binding["field"])
    return out


def _pulls(binding: Mapping[str, Any] | None) -> bool:
    return binding is not None and binding["direction"] in ("both", "pull")


def _pushes(binding: Mapping[str, Any] | None) -> bool:
    return binding is not None and binding["direction"] in ("both", "push")


def _read_table(binding: Mapping[str, Any]) -> dict[str, str] | None:
    """Vendor value -> canonical value, as `Binding.vendor_to_canonical` reads it."""
    if binding["read_values"] is not None:
        return dict(binding["read_values"])
    if binding["values"] is not None:
        return {vendor: canonical for canonical, vendor in binding["values"].items()}
    return None


class _Plan:
    """What a field's change calls for, collected part by part."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rederive: set[str] = set()
        self.repull: set[str] = set()
        self.replan = False

    def read_again(self, system: str, binding: Mapping[str, Any], stored: set[str]) -> None:
        """`system`'s value reads differently: from the stored copy if Baton has one."""
        if binding["field"] in stored and self.name not in (IDENTITY_FIELD, CONSENT_FIELD):
            self.rederive.add(system)
        elif binding["field"] not in stored:
            self.repull.add(system)
        self.replan = True

    def done(self, kind: ChangeKind, parts: tuple[str, ...]) -> FieldChange:
        return FieldChange(
            self.name,
            kind,
            parts,
            tuple(sorted(self.rederive)),
            tuple(sorted(self.repull)),
            self.replan or bool(self.rederive),
        )


def _added(name: str, body: Mapping[str, Any], stored: Mapping[str, set[str]]) -> FieldChange:
    plan = _Plan(name)
    for system, binding in body["bindings"].items():
        if _pulls(binding):
            plan.read_again(system, binding, stored.get(system, set()))
        if _pushes(binding):
            plan.replan = True
    return plan.done(ChangeKind.ADDED, ("field",))


def _changed(
    name: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    parts: list[Part],
    stored: Mapping[str, set[str]],
) -> FieldChange:
    plan = _Plan(name)
    bindings: Mapping[str, Mapping[str, Any]] = new["bindings"]
    for part in parts:
        if part.system is None:
            _field_part(plan, part.aspect, bindings, stored)
            continue
        before = old["bindings"].get(part.system)
        after = bindings.get(part.system)
        if after is None:
            continue  # unbound there: its values stay in Baton, no longer synced with it
        _binding_part(plan, part, before, after, stored.get(part.system, set()))
    return plan.done(ChangeKind.CHANGED, tuple(str(p) for p in parts))


def _field_part(
    plan: _Plan,
    aspect: Aspect,
    bindings: Mapping[str, Mapping[str, Any]],
    stored: Mapping[str, set[str]],
) -> None:
    if aspect in (Aspect.TYPE, Aspect.CHOICES, Aspect.UNMAPPED):
        # How every system's value reads changed.
        for system, binding in bindings.items():
            if _pulls(binding):
                plan.read_again(system, binding, stored.get(system, set()))
        plan.replan = True
    elif aspect is Aspect.SENSITIVE:
        plan.replan = True  # what may be sent to the email platform changed
    # Aspect.POLICY: it settles the next conflicting changes, not the settled ones.


def _binding_part(
    plan: _Plan,
    part: Part,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    stored: set[str],
) -> None:
    assert part.system is not None
    system = part.system
    new_binding = before is None or part.aspect is Aspect.FIELD
    if new_binding:
        if _pulls(after):
            plan.read_again(system, after, stored)
        plan.replan = plan.replan or _pushes(after)
        return
    assert before is not None
    if part.aspect is Aspect.DIRECTION:
        if _pulls(after) and not _pulls(before):
            plan.read_again(system, after, stored)
        if _pushes(after) != _pushes(before):
            plan.replan = True
    elif part.aspect is Aspect.VALUES:
        if _pulls(after) and _read_table(after) != _read_table(before):
            plan.read_again(system, after, stored)
        if _pushes(after) and after["values"] != before["values"]:
            plan.replan = True
    elif part.aspect is Aspect.TRANSFORMS:
        if _pulls(after):
            plan.read_again(system, after, stored)
        plan.replan = plan.replan or _pushes(after)
