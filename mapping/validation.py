"""Cross-checks of a mapping file, each naming where the problem is and how to fix it.

`check` runs on a loaded mapping with each system's rules (asked of the connector layer,
never by testing a system's name); `check_remote` compares it with the fields a live
portal describes (`baton mapping validate --remote`). Both return every problem found,
not only the first, as `Finding`s that the YAML source turns into `file:line:col`.

Where the issue was silent the stricter reading is taken:
- a field read from two systems must say `policy:` itself (the implicit `newest` is how
  an admin loses a value without noticing);
- one vendor field may be bound by one canonical field only, whatever the directions;
- every choice of an enumeration must have a vendor value in a binding that writes it;
- "not specified" may only be written as a value that grants nothing (not even a
  confirmation request); a vendor value is never read as more permission than it means.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.contract import ConsentMeaning, SystemRules
from connectors.fields import FieldInfo
from connectors.systems import RULES
from mapping.consent import MEANING
from mapping.errors import did_you_mean
from mapping.schema import BUILT_IN, IDENTITY_FIELD, CanonicalField, Consent, FieldType

if TYPE_CHECKING:
    from mapping.config import Binding, MappingConfig

Loc = tuple[Any, ...]


@dataclass(frozen=True)
class Finding:
    """One problem at `loc` (a path into the YAML); `value`: point at the value, not the key."""

    loc: Loc
    message: str
    value: bool = False
    fixed_by_apply: bool = False
    """`baton mapping apply` can fix it (a field or value the portal lacks and Baton may
    create), so a pre-run refusal made only of such problems names that command."""


def check_shape(
    data: Mapping[str, Any], systems: Sequence[str], options: Sequence[str]
) -> list[Finding]:
    """Keys of a field block that are neither a system nor an option, before the models
    see them (a misspelt `sensitve: true` would otherwise read as a system)."""
    found = []
    fields = data.get("fields")
    for name, block in fields.items() if isinstance(fields, Mapping) else ():
        for key in block if isinstance(block, Mapping) else ():
            if key in systems or key in options:
                continue
            found.append(
                Finding(
                    ("fields", name, key),
                    f"unknown system or option {key!r}"
                    f"{did_you_mean(str(key), (*systems, *options))} (systems: "
                    f"{', '.join(systems)}; options: {', '.join(options)})",
                )
            )
    return found


def spec_of(config: MappingConfig, name: str) -> CanonicalField:
    return config.spec(name)


def check(config: MappingConfig, rules: Mapping[str, SystemRules] = RULES) -> list[Finding]:
    """Every problem of a mapping whose structure is valid."""
    found: list[Finding] = []
    found += _near_built_ins(config)
    found += _field_names(config, rules)
    found += _shared_vendor_fields(config)
    found += _policies(config)
    found += _unmapped_choices(config)
    found += _consent(config, rules)
    return found


def _at(name: str, system: str, *rest: Any) -> Loc:
    return ("fields", name, system, *rest)


def _near_built_ins(config: MappingConfig) -> list[Finding]:
    """A block that misses a built-in field's name by a letter and declares no type is a
    typo, not a new field: as a plain string field it would carry consent (or the identity)
    past the rules that guard them."""
    found = []
    for name, fm in config.fields.items():
        if name in BUILT_IN or "type" in fm.model_fields_set:
            continue
        close = difflib.get_close_matches(name, BUILT_IN, n=1, cutoff=0.8)
        if close:
            found.append(
                Finding(
                    ("fields", name),
                    f"unknown canonical field {name!r} (did you mean {close[0]!r}?): rename "
                    "the block, or declare `type:` if it is a field of its own",
                )
            )
    return found


def _field_names(config: MappingConfig, rules: Mapping[str, SystemRules]) -> list[Finding]:
    """Vendor field paths the system could never have (e.g. a merge tag too long)."""
    found = []
    for name, fm in config.fields.items():
        for system, binding in fm.bindings.items():
            problem = rules[system].field_name_problem(binding.field) if system in rules else None
            if problem is not None:
                found.append(Finding(_at(name, system, "field"), problem, value=True))
    return found


def _shared_vendor_fields(config: MappingConfig) -> list[Finding]:
    """One vendor field bound by two canonical fields: one's value leaks into the other
    (a sensitive job title reached the email platform as `organization`). A whole-name
    field split into first and last name (`split_name`) is the one exception."""
    found = []
    for system in sorted({s for fm in config.fields.values() for s in fm.bindings}):
        sharing: dict[str, list[str]] = {}
        for name, binding in config.bound(system):
            sharing.setdefault(binding.field, []).append(name)
        for field, names in sharing.items():
            parts = [config.fields[n].bindings[system].name_part for n in names]
            if len(names) < 2 or (None not in parts and len(set(parts)) == len(parts)):
                continue
            for name in names[1:]:
                found.append(
                    Finding(
                        _at(name, system, "field"),
                        f"{system} field {field!r} is already bound by {names[0]!r}; "
                        "a vendor field may hold one canonical field only: bind "
                        f"{name!r} to another {system} field or remove this binding",
                        value=True,
                    )
                )
    return found


def _policies(config: MappingConfig) -> list[Finding]:
    """A field read from two systems needs a stated policy for who wins."""
    found = []
    for name, fm in config.fields.items():
        sources = sorted(s for s, b in fm.bindings.items() if b.pulls)
        # The identity is the match key, not a value two systems compete for.
        if name != IDENTITY_FIELD and len(sources) > 1 and "policy" not in fm.model_fields_set:
            found.append(
                Finding(
                    ("fields", name),
                    f"{name!r} is read from {' and '.join(sources)} but has no policy: "
                    "add `policy: newest` (latest change wins), `policy: {owner: "
                    f"{sources[0]}}}`, or make all but one binding `direction: push`",
                )
            )
    return found


def _unmapped_choices(config: MappingConfig) -> list[Finding]:
    """A choice with no vendor value in a binding that writes values: it would never
    reach that system (for consent, an opt-out silently dropped)."""
    found = []
    for name, fm in config.fields.items():
        spec = spec_of(config, name)
        for system, binding in fm.bindings.items():
            if not spec.choices or binding.values is None or not binding.pushes:
                continue
            missing = [c for c in spec.choices if c not in binding.values]
            for choice in missing:
                found.append(
                    Finding(
                        _at(name, system, "values"),
                        f"{name!r} value {choice!r} has no {system} value: add "
                        f"`{choice}: <{system} value>` under `values:`, or make the binding "
                        "`direction: pull`",
                    )
                )
    return found


def _consent(config: MappingConfig, rules: Mapping[str, SystemRules]) -> list[Finding]:
    """Consent holds whatever the mapping says: nobody is subscribed without consent, and
    an opt-out is written and read as an opt-out."""
    found: list[Finding] = []
    for name, fm in config.fields.items():
        if spec_of(config, name).type is not FieldType.CONSENT:
            found += _consent_field_elsewhere(name, fm.bindings, rules)
            continue
        if fm.policy != "consent":
            found.append(
                Finding(
                    ("fields", name, "policy")
                    if "policy" in fm.model_fields_set
                    else ("fields", name),
                    f"{name!r} holds email consent: it must use `policy: consent` (an opt-out "
                    "always wins over a subscription)",
                )
            )
        for system, binding in fm.bindings.items():
            system_rules = rules.get(system)
            if system_rules is not None:
                found += _consent_binding(name, system, binding, system_rules)
    return found


def _consent_field_elsewhere(
    name: str, bindings: Mapping[str, Binding], rules: Mapping[str, SystemRules]
) -> list[Finding]:
    """A system's consent field bound by another canonical field would carry consent past
    the consent rules."""
    found = []
    for system, binding in bindings.items():
        vocabulary = rules[system].consent if system in rules else None
        if vocabulary is not None and binding.field == vocabulary.field:
            found.append(
                Finding(
                    _at(name, system, "field"),
                    f"{system} {vocabulary.field!r} holds email consent: only the consent "
                    f"field may bind it; remove this binding from {name!r}",
                    value=True,
                )
            )
    return found


def _consent_binding(name: str, system: str, binding: Binding, rules: SystemRules) -> list[Finding]:
    vocabulary = rules.consent
    if vocabulary is None:
        return [
            Finding(_at(name, system), f"{system} records no email consent: remove this binding")
        ]
    if binding.field != vocabulary.field:
        return [
            Finding(
                _at(name, system, "field"),
                f"{system} records email consent in {vocabulary.field!r}, not "
                f"{binding.field!r}: bind `field: {vocabulary.field}`",
                value=True,
            )
        ]
    meanings = vocabulary.meanings
    known = ", ".join(meanings)
    found: list[Finding] = []
    if not (binding.pulls and binding.pushes):
        found.append(
            Finding(
                _at(name, system, "direction"),
                f"consent must flow both ways: an opt-out recorded in {system} has to reach "
                "the other system and one recorded there has to reach it; remove `direction:`",
            )
        )
    writes = binding.values if binding.values is not None else {c.value: c.value for c in Consent}
    if binding.pushes:
        for canonical, vendor in writes.items():
            at = _at(name, system, "values", canonical)
            meaning = meanings.get(vendor)
            if meaning is None:
                found.append(
                    Finding(
                        at,
                        f"{vendor!r} is not a {system} consent value"
                        f"{did_you_mean(vendor, meanings)}; {system} knows {known}",
                        value=True,
                    )
                )
            elif canonical in MEANING and meaning > MEANING[Consent(canonical)]:
                found.append(
                    Finding(
                        at,
                        f"{canonical!r} may not be sent as {vendor!r}: that would "
                        f"{_grant(meaning)} someone who {_had(Consent(canonical))}; map it "
                        f"to {_safe(meanings, MEANING[Consent(canonical)])}",
                        value=True,
                    )
                )
    reads = binding.vendor_to_canonical() if binding.pulls else None
    if binding.pulls:
        readable = reads if reads is not None else {c.value: c.value for c in Consent}
        for vendor, meaning in meanings.items():
            if meaning is ConsentMeaning.WITHDRAWN and vendor not in readable:
                found.append(
                    Finding(
                        _at(
                            name,
                            system,
                            "read_values" if binding.read_values is not None else "values",
                        ),
                        f"{system} {vendor!r} records an opt-out but is not read: add "
                        f"`{vendor}: opted_out` (or bounced) so it reaches the other system",
                    )
                )
    for vendor, canonical in (reads or {}).items():
        meaning = meanings.get(vendor)
        at = _at(name, system, "read_values" if binding.read_values is not None else "values")
        if meaning is None:
            found.append(
                Finding(
                    (*at, vendor) if binding.read_values is not None else at,
                    f"{vendor!r} is not a {system} consent value"
                    f"{did_you_mean(vendor, meanings)}; {system} knows {known}",
                )
            )
        elif canonical in MEANING and MEANING[Consent(canonical)] > meaning:
            found.append(
                Finding(
                    (*at, vendor) if binding.read_values is not None else at,
                    f"{system} {vendor!r} may not be read as {canonical!r}: it records "
                    f"{_records(meaning)}; read it as "
                    f"{_safe_canonical(meaning)}",
                    value=binding.read_values is not None,
                )
            )
    return found


def _grant(meaning: ConsentMeaning) -> str:
    return {
        ConsentMeaning.GRANTED: "subscribe",
        ConsentMeaning.REQUESTED: "send a confirmation request to",
    }.get(meaning, "give permission to")


def _had(canonical: Consent) -> str:
    return {
        Consent.NOT_SPECIFIED: "never consented",
        Consent.PENDING: "has not confirmed",
        Consent.OPTED_OUT: "opted out",
        Consent.BOUNCED: "bounced",
    }.get(canonical, "did not consent")


def _records(meaning: ConsentMeaning) -> str:
    return {
        ConsentMeaning.WITHDRAWN: "an opt-out",
        ConsentMeaning.NONE: "no consent",
        ConsentMeaning.REQUESTED: "an unconfirmed request",
    }.get(meaning, "consent")


def _safe(meanings: Mapping[str, ConsentMeaning], limit: ConsentMeaning) -> str:
    ok = [v for v, m in meanings.items() if m <= limit]
    return " or ".join(repr(v) for v in ok) if ok else "nothing (remove it)"


def _safe_canonical(meaning: ConsentMeaning) -> str:
    ok = [c.value for c, m in MEANING.items() if m <= meaning]
    return " or ".join(repr(v) for v in ok)


@dataclass(frozen=True)
class PortalFields:
    """One system's live fields, as its connector describes them."""

    fields: Sequence[FieldInfo]
    read_only: frozenset[str] = frozenset()
    """Fields nobody may write (the connector's own channels excluded)."""


def check_remote(
    config: MappingConfig,
    portals: Mapping[str, PortalFields],
    rules: Mapping[str, SystemRules] = RULES,
) -> list[Finding]:
    """Every binding against the portal: the field exists, may be written, can hold the
    canonical type, and offers every value the binding writes."""
    found: list[Finding] = []
    for system, portal in portals.items():
        have = {f.name: f for f in portal.fields}
        holds = rules[system].holds if system in rules else {}
        for name, binding in config.bound(system):
            info = have.get(binding.field)
            at = _at(name, system, "field")
            if info is None:
                found.append(
                    Finding(
                        at,
                        f"{system} has no field {binding.field!r}"
                        f"{_closest_field(binding.field, have)}: fix the name or run "
                        "`baton mapping apply` to create it",
                        value=True,
                        fixed_by_apply=True,
                    )
                )
                continue
            if binding.pushes and binding.field in portal.read_only:
                found.append(
                    Finding(
                        at,
                        f"{system} field {binding.field!r} is read-only and cannot be written "
                        f"(mapped for {name!r}): make the binding `direction: pull`",
                        value=True,
                    )
                )
            spec = spec_of(config, name)
            found += _type(name, system, binding, spec, info, holds)
            if binding.pushes:
                found += _options(name, system, binding, spec, info)
    return found


def _closest_field(name: str, names: Iterable[str]) -> str:
    """A did-you-mean over vendor paths, comparing the last segment among paths that share
    the rest (every merge field starts `merge_fields.`, which would make all look close)."""
    head, _, tail = name.rpartition(".")
    tails = {n.rpartition(".")[2]: n for n in names if n.rpartition(".")[0] == head}
    close = difflib.get_close_matches(tail, list(tails), n=1, cutoff=0.75)
    return f" (did you mean {tails[close[0]]!r}?)" if close else ""


def _type(
    name: str,
    system: str,
    binding: Binding,
    spec: CanonicalField,
    info: FieldInfo,
    holds: Mapping[str, frozenset[str]],
) -> list[Finding]:
    kinds = holds.get(info.type)
    if kinds is None or str(spec.type) in kinds:
        return []
    fitting = sorted(t for t, k in holds.items() if str(spec.type) in k)
    return [
        Finding(
            _at(name, system, "field"),
            f"{system} field {binding.field!r} is of type {info.type!r}, which cannot hold "
            f"{name!r} ({spec.type} values): bind a field of type "
            f"{' or '.join(map(repr, fitting)) or 'another type'}",
            value=True,
        )
    ]


def _options(
    name: str, system: str, binding: Binding, spec: CanonicalField, info: FieldInfo
) -> list[Finding]:
    """Each value the binding writes must be one of the portal's options."""
    if info.options is None or not spec.choices:
        return []
    offered = set(info.options)
    # A field the vendor defines takes no new values from Baton: only the mapping can change.
    apply = (
        "run `baton mapping apply` to add it to the field"
        if info.editable
        else f"add it in {system} (the field is {system}'s own: Baton cannot add values)"
    )
    found = []
    for canonical, vendor in _writes(spec, binding):
        if vendor in offered:
            continue
        hint = did_you_mean(vendor, info.options)
        if binding.values is not None:
            found.append(
                Finding(
                    _at(name, system, "values", canonical),
                    f"{system} field {binding.field!r} offers no {vendor!r}{hint}: fix the "
                    f"value, or {apply}",
                    value=True,
                    fixed_by_apply=info.editable,
                )
            )
            continue
        # Written as the choice itself: point at the choice.
        found.append(
            Finding(
                ("fields", name, "choices", spec.choices.index(canonical)),
                f"{system} field {binding.field!r} offers no {vendor!r}{hint} (a choice of "
                f"{name!r}, written as it is): map it under `values:`, or {apply}",
                fixed_by_apply=info.editable,
            )
        )
    return found


def _writes(spec: CanonicalField, binding: Binding) -> Iterable[tuple[str, str]]:
    if binding.values is not None:
        return binding.values.items()
    return ((c, c) for c in spec.choices)
