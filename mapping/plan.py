"""Plan writes: the diff between a canonical contact and a system's shadow.

Reading back Baton's own write yields the shadow again, so a second plan is
empty: that is the echo guard. Comparison is done both in vendor form and in
canonical form, so a value the vendor formats differently ("(617) 555-0134"
for "+16175550134") or a lossy mapping (several consents -> "false") is not
rewritten on every run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from connectors.contract import FieldValue, SystemRules
from connectors.systems import RULES
from mapping.config import Binding, MappingConfig
from mapping.consent import lifts_withdrawal
from mapping.errors import FieldRejected
from mapping.merge import ContactState
from mapping.schema import IDENTITY_FIELD, Consent, FieldType
from mapping.translate import (
    reads_as,
    same_vendor_value,
    to_canonical,
    to_vendor,
    vendor_text,
    whole_name,
)


def plan_fields(
    config: MappingConfig,
    system: str,
    state: ContactState,
    shadow: Mapping[str, FieldValue] | None,
    *,
    unread: Collection[str] = (),
    rules: SystemRules | None = None,
) -> dict[str, FieldValue]:
    """Vendor fields to write to `system`; `shadow` None means the record is new there.

    `unread` names vendor fields Baton could not read from the last copy: a
    value it has not seen may be newer than its own, so it is never written
    over. `rules` are the system's (its connector's); by default the known
    system's of that name.
    """
    rules = rules if rules is not None else RULES[system]
    payload: dict[str, FieldValue] = {}
    values = {name: fs.value for name, fs in state.items()}
    for name, binding in config.bound(system):
        if binding.field in payload or binding.field in unread:
            continue  # planned already (a whole name, from its parts), or never over unread
        if not _may_write(config, name, binding, rules):
            continue
        parts = _name_parts(config, system, binding)
        if parts:
            desired = _whole_name(config, system, parts, values, shadow, rules)
        else:
            desired = _field_value(config, system, name, values.get(name), shadow, rules)
        if desired is not None:
            payload[binding.field] = desired
    return payload


def _may_write(config: MappingConfig, name: str, binding: Binding, rules: SystemRules) -> bool:
    """Identity is never updated, and nothing sensitive goes to a marketing system."""
    if not binding.pushes or name == IDENTITY_FIELD:
        return False
    return not (_sensitive(config, name) and rules.marketing)


def _field_value(
    config: MappingConfig,
    system: str,
    name: str,
    value: str | None,
    shadow: Mapping[str, FieldValue] | None,
    rules: SystemRules,
) -> FieldValue:
    """What to write for one field, or None when the system already means it (or may
    not be given it)."""
    spec = config.spec(name)
    binding = config.fields[name].bindings[system]
    if value is None and spec.type is FieldType.CONSENT and shadow is None:
        value = Consent.NOT_SPECIFIED.value  # a new member needs a status
    if value is None and binding.constant is None:
        return None
    desired = to_vendor(spec, binding, value)
    if desired is None:
        return None
    if not binding.steps and binding.values is None:
        desired = rules.render(str(spec.type), desired)
    current = shadow.get(binding.field) if shadow is not None else None
    if shadow is not None and (
        same_vendor_value(current, desired) or reads_as(spec, binding, current, value)
    ):
        return None
    if (
        spec.type is FieldType.CONSENT
        and shadow is not None
        and lifts_withdrawal(_canonical_or_none(config, name, binding, current), value)
    ):
        return None
    if binding.field in rules.guards:
        return rules.guard(
            binding.field,
            vendor_text(desired),
            None if shadow is None else vendor_text(current),
        )
    return desired


def _whole_name(
    config: MappingConfig,
    system: str,
    parts: Mapping[str, str],
    values: Mapping[str, str | None],
    shadow: Mapping[str, FieldValue] | None,
    rules: SystemRules,
) -> FieldValue:
    """The whole name to write from its first / last parts (`split_name`), or None."""
    if any(_sensitive(config, n) and rules.marketing for n in parts.values()):
        return None
    joined = whole_name(values, parts)
    if joined is None or (
        shadow is not None and _parts_held(config, system, parts, values, shadow)
    ):
        return None
    return joined


def _sensitive(config: MappingConfig, name: str) -> bool:
    return config.fields[name].sensitive or config.spec(name).sensitive


def _name_parts(config: MappingConfig, system: str, binding: Binding) -> dict[str, str]:
    """`first` / `last` -> canonical field, for a vendor field that holds a whole name."""
    if binding.name_part is None:
        return {}
    return {
        b.name_part: n
        for n, b in config.bound(system)
        if b.field == binding.field and b.name_part is not None and b.pushes
    }


def _parts_held(
    config: MappingConfig,
    system: str,
    parts: Mapping[str, str],
    values: Mapping[str, str | None],
    shadow: Mapping[str, FieldValue],
) -> bool:
    """Does the system's whole name already read as every part Baton holds?"""
    current = shadow.get(config.fields[next(iter(parts.values()))].bindings[system].field)
    for name in parts.values():
        binding = config.fields[name].bindings[system]
        try:
            if to_canonical(config.spec(name), binding, current) != values.get(name):
                return False
        except FieldRejected:
            return False
    return True


def _canonical_or_none(
    config: MappingConfig, name: str, binding: Binding, raw: FieldValue
) -> str | None:
    try:
        return to_canonical(config.spec(name), binding, raw)
    except FieldRejected:
        return None


def write_applied(payload: Mapping[str, FieldValue], remote: Mapping[str, FieldValue]) -> bool:
    """Does the remote record already hold every value of `payload`?"""
    return all(same_vendor_value(remote.get(k), v) for k, v in payload.items())
