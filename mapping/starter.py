"""A starter mapping from the fields two live systems describe (`baton mapping discover`).

Pure: it takes each system's `FieldInfo`s and what its connector knows of it (standard
fields, the consent binding, whether marketing reads it) and pairs fields:

- the standard fields (email, names, phone, company, job title) where the connector names
  them, and, where one system has no standard field for one, the other system's field
  with the same or a similar name or label;
- consent, through each connector's own consent binding;
- every other field of one system with the field of the other whose name or label is the
  same or similar, when both hold the same kind of value. An enumeration's choices are the
  CRM's option values; the other side's `values` map each onto the option with the same
  label (or value). Options only one side offers are kept, so no value is lost: `baton
  mapping apply` adds them to the other side. A picklist may also pair with a text field:
  the text field then gets the picklist's labels, `direction: push` (the picklist owns
  the values; free text read back could hold anything).

Two rules hold whatever pairs: a field whose name or label looks clinical is declared
`sensitive: true` and never bound toward a marketing system, and a field the system
marks read-only is bound `direction: pull`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from connectors.fields import FieldInfo
from mapping.schema import CONSENT_FIELD, IDENTITY_FIELD

STANDARD = (IDENTITY_FIELD, "first_name", "last_name", "phone", "organization", "job_title")
_STANDARD_TYPES = {IDENTITY_FIELD: "email", "phone": "phone"}
# Words that mark a field as clinical (health information about a person). A starter is
# cautious: a false alarm costs an admin one line to undo, a miss could expose a patient.
SENSITIVE_TERMS = (
    "allerg",
    "clinical",
    "condition",
    "diagnos",
    "disab",
    "dob",
    "icd",
    "insurance",
    "lab_result",
    "medical_record",
    "medication",
    "mrn",
    "patient",
    "pregnan",
    "prescri",
    "procedure",
    "ssn",
    "symptom",
    "therapy",
    "treatment",
)
_SIMILAR = 0.8
# Types whose values one can hold for the other (a phone can live in a text field).
# A picklist pairs with a text field too: the text side gets the picklist's labels,
# written only (the picklist owns its values; free text could hold anything).
_COMPATIBLE = {frozenset({"phone", "string"}), frozenset({"enum", "string"})}


@dataclass(frozen=True)
class SystemFields:
    """One system as the starter sees it."""

    system: str
    fields: Sequence[FieldInfo]
    standard: Mapping[str, str]
    consent: Mapping[str, Any]
    marketing: bool = False


@dataclass
class Starter:
    """The starter mapping: field blocks in file order, with a note for some."""

    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    unpaired: dict[str, list[FieldInfo]] = field(default_factory=dict)

    def note(self, name: str, text: str) -> None:
        self.notes.setdefault(name, []).append(text)


def looks_sensitive(info: FieldInfo) -> bool:
    text = f"{info.name} {info.label}".lower().replace(" ", "_")
    return any(term in text for term in SENSITIVE_TERMS)


def build_starter(systems: Sequence[SystemFields]) -> Starter:
    """Pair the systems' fields into a starter mapping (see the module docstring)."""
    crm = next((s for s in systems if not s.marketing), systems[0])
    ordered = [crm, *(s for s in systems if s is not crm)]
    starter = Starter()
    claimed: dict[str, set[str]] = {s.system: set() for s in ordered}
    by_name = {s.system: {f.name: f for f in s.fields} for s in ordered}

    for canonical in STANDARD:
        picks: dict[str, FieldInfo] = {}
        for side in ordered:
            info = by_name[side.system].get(side.standard.get(canonical, ""))
            if info is not None:
                picks[side.system] = info
        for side in ordered:
            if side.system not in picks and picks:
                match = _best_match(canonical, list(picks.values()), side, claimed)
                if match is not None:
                    picks[side.system] = match
        if not picks:
            continue
        kind = _STANDARD_TYPES.get(canonical, "string")
        # The identity's type is built in; strings are the default.
        block: dict[str, Any] = {"type": kind} if kind not in ("string", "email") else {}
        _bind(starter, canonical, block, picks, ordered, claimed)
    consent = {
        s.system: dict(s.consent)
        for s in ordered
        if s.consent and s.consent.get("field") in by_name[s.system]
    }
    if consent:
        starter.blocks[CONSENT_FIELD] = {"policy": "consent", **consent}
        for s in ordered:
            if s.system in consent:
                claimed[s.system].add(str(s.consent["field"]))

    for canonical, picks in _custom_pairs(ordered, claimed):
        _bind_custom(starter, canonical, picks, ordered, claimed)
    for name, block in starter.blocks.items():
        starter.blocks[name] = _with_policy(block, [s.system for s in ordered])
    for side in ordered:
        # Only the admin's own fields: a vendor's hundreds of built-in ones would bury them.
        starter.unpaired[side.system] = [
            f
            for f in side.fields
            if f.custom and f.name not in claimed[side.system] and not _internal(f)
        ]
    return starter


def _bind(
    starter: Starter,
    canonical: str,
    block: dict[str, Any],
    picks: Mapping[str, FieldInfo],
    ordered: Sequence[SystemFields],
    claimed: dict[str, set[str]],
) -> None:
    sensitive = canonical != IDENTITY_FIELD and any(looks_sensitive(f) for f in picks.values())
    if sensitive:
        block["sensitive"] = True
    for side in ordered:
        info = picks.get(side.system)
        if info is None:
            continue
        if sensitive and side.marketing:
            starter.note(canonical, f"sensitive: not bound to {side.system} ({info.name})")
            continue
        claimed[side.system].add(info.name)
        block[side.system] = _binding(info, None)
    starter.blocks[canonical] = block


def _custom_pairs(
    ordered: Sequence[SystemFields], claimed: Mapping[str, set[str]]
) -> list[tuple[str, dict[str, FieldInfo]]]:
    """Fields of the first system paired with similar fields of each other one."""
    first, others = ordered[0], ordered[1:]
    pairs: list[tuple[str, dict[str, FieldInfo]]] = []
    taken: dict[str, set[str]] = {s.system: set(claimed[s.system]) for s in ordered}
    for other in others:
        scored = sorted(
            (
                (score, a.name, b.name, a, b)
                for a in _candidates(first, taken)
                for b in _candidates(other, taken)
                if _compatible(a, b) and (score := _similarity(a, b)) >= _SIMILAR
            ),
            key=lambda t: (-t[0], t[1], t[2]),
        )
        for _, _, _, a, b in scored:
            if a.name in taken[first.system] or b.name in taken[other.system]:
                continue
            if a.read_only and b.read_only:
                continue  # nothing could flow either way
            taken[first.system].add(a.name)
            taken[other.system].add(b.name)
            pairs.append((_canonical_name(a, b), {first.system: a, other.system: b}))
    used = set(STANDARD) | {CONSENT_FIELD}
    unique: list[tuple[str, dict[str, FieldInfo]]] = []
    for name, picks in pairs:
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        unique.append((name, picks))
    return unique


def _bind_custom(
    starter: Starter,
    canonical: str,
    picks: Mapping[str, FieldInfo],
    ordered: Sequence[SystemFields],
    claimed: dict[str, set[str]],
) -> None:
    kinds = {str(f.canonical_type) for f in picks.values()}
    kind = "phone" if kinds == {"phone", "string"} else "enum" if "enum" in kinds else kinds.pop()
    if kind in ("enum", "multi_select") and not any(f.options for f in picks.values()):
        kind = "string"  # options kept outside the portal (HubSpot external options)
    # Text fields paired with a picklist: written with its labels, never read.
    copies = {s for s, f in picks.items() if kind == "enum" and f.canonical_type != "enum"}
    if copies and len(copies) == len(picks):
        copies = set()
    block: dict[str, Any] = {} if kind == "string" else {"type": kind}
    sensitive = any(looks_sensitive(f) for f in picks.values())
    if sensitive:
        block["sensitive"] = True
    values: dict[str, dict[str, str]] = {}
    if kind in ("enum", "multi_select"):
        lists = {s: f for s, f in picks.items() if s not in copies}
        choices, values = _choices(lists, ordered)
        block["choices"] = choices
        labels = _labels(lists, choices)
        for system in copies:
            values[system] = {c: labels.get(c, c) for c in choices}
        missing = [
            f"{system} lacks {', '.join(map(repr, lacking))}"
            for system, lacking in _lacking(lists, values).items()
            if lacking
        ]
        if missing:
            starter.note(canonical, "; ".join(missing) + ": run `baton mapping apply`")
    for side in ordered:
        info = picks.get(side.system)
        if info is None:
            continue
        if sensitive and side.marketing:
            starter.note(canonical, f"sensitive: not bound to {side.system} ({info.name})")
            continue
        if side.system in copies and info.read_only:
            continue  # a copy nobody can write is no copy
        claimed[side.system].add(info.name)
        block[side.system] = _binding(info, values.get(side.system), side.system in copies)
    if sum(1 for s in ordered if s.system in block) == 0:
        return
    starter.blocks[canonical] = block


_DECLARATION_ORDER = ("type", "choices", "unmapped", "default", "policy", "sensitive")


def _with_policy(block: Mapping[str, Any], systems: Sequence[str]) -> dict[str, Any]:
    """The block with its declaration first and, when several systems feed it, the policy
    said outright (`newest`: the latest change wins)."""
    feeding = [
        s
        for s in systems
        if s in block and not (isinstance(block[s], dict) and block[s].get("direction") == "push")
    ]
    out = {key: block[key] for key in _DECLARATION_ORDER if key in block}
    if len(feeding) > 1 and "policy" not in out:
        out["policy"] = "newest"
    out = {key: out[key] for key in _DECLARATION_ORDER if key in out}
    out.update({key: value for key, value in block.items() if key not in _DECLARATION_ORDER})
    return out


def _binding(
    info: FieldInfo, values: Mapping[str, str] | None, copy: bool = False
) -> str | dict[str, Any]:
    binding: dict[str, Any] = {"field": info.name}
    if info.read_only:
        binding["direction"] = "pull"
    elif copy:
        binding["direction"] = "push"
    if values and any(k != v for k, v in values.items()):
        binding["values"] = dict(values)
    return binding if len(binding) > 1 else info.name


def _choices(
    picks: Mapping[str, FieldInfo], ordered: Sequence[SystemFields]
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Canonical choices (the first system's option values, then what only the others
    offer) and, per system, canonical value -> that system's option."""
    systems = [s.system for s in ordered if s.system in picks]
    first = picks[systems[0]]
    labels = dict(
        zip(first.options or (), first.option_labels or first.options or (), strict=False)
    )
    choices = list(first.options or ())
    values: dict[str, dict[str, str]] = {systems[0]: {c: c for c in choices}}
    for system in systems[1:]:
        info = picks[system]
        theirs = list(info.options or ())
        mapped: dict[str, str] = {}
        for choice in choices:
            match = _option_for(choice, labels.get(choice, choice), theirs)
            # An option the other side lacks is written as the first side's label.
            mapped[choice] = match if match is not None else labels.get(choice, choice)
        for option in theirs:
            if option not in mapped.values():
                canonical = _slug(option)
                while canonical in choices:
                    canonical += "_"
                choices.append(canonical)
                labels[canonical] = option
                mapped[canonical] = option
                values[systems[0]][canonical] = canonical
        values[system] = mapped
    return choices, values


def _labels(picks: Mapping[str, FieldInfo], choices: Sequence[str]) -> dict[str, str]:
    """Canonical value -> the label the first picklist shows for it."""
    labels: dict[str, str] = {}
    for info in picks.values():
        options = info.options or ()
        for value, label in zip(options, info.option_labels or options, strict=False):
            labels.setdefault(value, label)
    return {c: labels.get(c, c) for c in choices}


def _lacking(
    picks: Mapping[str, FieldInfo], values: Mapping[str, Mapping[str, str]]
) -> dict[str, list[str]]:
    return {
        system: [v for v in values.get(system, {}).values() if v not in (info.options or ())]
        for system, info in picks.items()
    }


def _option_for(value: str, label: str, options: Sequence[str]) -> str | None:
    wanted = {_key(value), _key(label)}
    return next((o for o in options if _key(o) in wanted), None)


def _candidates(side: SystemFields, taken: Mapping[str, set[str]]) -> list[FieldInfo]:
    return [
        f
        for f in side.fields
        if f.name not in taken[side.system] and f.canonical_type is not None and not _internal(f)
    ]


def _internal(info: FieldInfo) -> bool:
    """Bookkeeping a vendor keeps for itself (ids, timestamps): never worth syncing."""
    if info.name in ("hs_object_id", "id"):
        return True
    return info.read_only and info.canonical_type in (None, "datetime")


def _compatible(a: FieldInfo, b: FieldInfo) -> bool:
    if a.canonical_type == b.canonical_type:
        return True
    return frozenset({str(a.canonical_type), str(b.canonical_type)}) in _COMPATIBLE


def _keys(info: FieldInfo) -> set[str]:
    tail = info.name.rsplit(".", 1)[-1]
    return {k for k in (_key(tail.removeprefix("hs_")), _key(info.label)) if k}


def _similarity(a: FieldInfo, b: FieldInfo) -> float:
    best = 0.0
    for x in _keys(a):
        for y in _keys(b):
            if x == y:
                return 1.0
            short, long = sorted((x, y), key=len)
            if len(short) >= 3 and (long.startswith(short) or long.endswith(short)):
                best = max(best, 0.85)
            best = max(best, difflib.SequenceMatcher(None, x, y).ratio())
    return best


def _best_match(
    canonical: str,
    known: Sequence[FieldInfo],
    side: SystemFields,
    claimed: Mapping[str, set[str]],
) -> FieldInfo | None:
    """The field of `side` most like a standard field the other systems have."""
    probe = FieldInfo(canonical, canonical.replace("_", " "), "", canonical_type="string")
    scored = [
        (max(_similarity(f, k) for k in [probe, *known]), f.name, f)
        for f in _candidates(side, claimed)
        if f.canonical_type in ("string", "phone")
    ]
    scored = [s for s in scored if s[0] >= _SIMILAR]
    if not scored:
        return None
    return max(scored, key=lambda s: (s[0], s[1]))[2]


def _canonical_name(a: FieldInfo, b: FieldInfo) -> str:
    for info in (a, b):
        tail = info.name.rsplit(".", 1)[-1]
        if re.fullmatch(r"[a-z][a-z0-9_]*", tail):
            spelt = _slug(info.label)
            # `lifecyclestage` labelled "Lifecycle Stage" reads better as lifecycle_stage.
            return spelt if spelt.replace("_", "") == tail else tail.removeprefix("hs_")
    return _slug(a.label) or _slug(b.label) or "field"


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug if slug and slug[0].isalpha() else f"v_{slug}"


def render(starter: Starter, source: str = "") -> str:
    """The starter as a mapping file, with a comment per note and the unpaired fields."""
    lines = [
        "# A starter mapping written by `baton mapping discover`"
        + (f" from {source}" if source else "")
        + ".",
        "# Check it, then `baton mapping validate --remote` and `baton mapping apply`.",
        "# Field blocks declare each canonical field (type, choices) and bind it per system;",
        "# see the README's mapping section for every key.",
        "version: 1",
        "fields:",
    ]
    for name, block in starter.blocks.items():
        lines.append("")
        lines.extend(f"  # {note}" for note in starter.notes.get(name, []))
        dumped = yaml.safe_dump({name: block}, sort_keys=False, allow_unicode=True, width=88)
        lines.extend(f"  {line}" if line else line for line in dumped.rstrip("\n").splitlines())
    for system, fields in starter.unpaired.items():
        if not fields:
            continue
        lines.append("")
        lines.append(f"# Not paired in {system} (add a block to sync one):")
        for info in fields:
            extra = ", read-only" if info.read_only else ""
            lines.append(f"#   {info.name} ({info.type}{extra}): {info.label}")
    return "\n".join(lines) + "\n"
