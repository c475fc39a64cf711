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
from mapping.schema import CANONICAL_FIELDS, IDENTITY_FIELD, Consent, FieldType
from mapping.translate import same_vendor_value, to_canonical, to_vendor, vendor_text


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
    for name, binding in config.bound(system):
        spec = CANONICAL_FIELDS[name]
        if not binding.pushes or name == IDENTITY_FIELD or binding.field in unread:
            continue
        if (config.fields[name].sensitive or spec.sensitive) and rules.marketing:
            continue
        value = state[name].value if name in state else None
        if value is None and spec.type is FieldType.CONSENT and shadow is None:
            value = Consent.NOT_SPECIFIED.value  # a new member needs a status
        if value is None:
            continue
        desired = to_vendor(binding, value)
        if desired is None:
            continue
        current = shadow.get(binding.field) if shadow is not None else None
        if shadow is not None and _means(
            name,
            binding_field_value=current,
            config=config,
            system=system,
            value=value,
            desired=desired,
        ):
            continue
        if (
            spec.type is FieldType.CONSENT
            and shadow is not None
            and lifts_withdrawal(_canonical_or_none(name, binding, current), value)
        ):
            continue
        if binding.field in rules.guards:
            desired = rules.guard(
                binding.field,
                vendor_text(desired),
                None if shadow is None else vendor_text(current),
            )
            if desired is None:
                continue
        payload[binding.field] = desired
    return payload


def _means(
    name: str,
    *,
    binding_field_value: FieldValue,
    config: MappingConfig,
    system: str,
    value: str,
    desired: FieldValue,
) -> bool:
    if same_vendor_value(binding_field_value, desired):
        return True
    binding = config.fields[name].bindings[system]
    try:
        return to_canonical(CANONICAL_FIELDS[name], binding, binding_field_value) == value
    except FieldRejected:
        return False


def _canonical_or_none(name: str, binding: Binding, raw: FieldValue) -> str | None:
    try:
        return to_canonical(CANONICAL_FIELDS[name], binding, raw)
    except FieldRejected:
        return None


def write_applied(payload: Mapping[str, FieldValue], remote: Mapping[str, FieldValue]) -> bool:
    """Does the remote record already hold every value of `payload`?"""
    return all(same_vendor_value(remote.get(k), v) for k, v in payload.items())
