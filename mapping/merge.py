"""Per-field merge of one incoming record into a canonical contact.

A field counts as changed in a system when its vendor value differs from the
last-synced shadow of that system. It is a conflict when the canonical value
also holds a change from another system that has not reached this one yet;
the field's policy then decides. Empty values never overwrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from connectors.contract import FieldValue
from mapping.config import Binding, MappingConfig, OwnerPolicy
from mapping.consent import is_explicit, resolve_consent
from mapping.errors import FieldRejected
from mapping.schema import CANONICAL_FIELDS, Consent
from mapping.translate import CanonicalValues, same_vendor_value, to_canonical


@dataclass(frozen=True)
class FieldState:
    """A canonical value with its provenance: which system set it, and when."""

    value: str | None
    source: str | None = None
    changed_at: datetime | None = None


ContactState = dict[str, FieldState]


@dataclass(frozen=True)
class Conflict:
    field: str
    kept: str | None
    kept_from: str | None
    dropped: str | None
    dropped_from: str


@dataclass
class MergeOutcome:
    state: ContactState
    changed: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def delivered(
    binding: Binding, name: str, value: str | None, shadow: Mapping[str, FieldValue] | None
) -> bool:
    """Does the system's last-synced value already mean `value`?"""
    if shadow is None or binding.field not in shadow:
        return False
    try:
        return to_canonical(CANONICAL_FIELDS[name], binding, shadow[binding.field]) == value
    except FieldRejected:
        return False


def merge_incoming(
    config: MappingConfig,
    system: str,
    values: CanonicalValues,
    raw_fields: Mapping[str, FieldValue],
    shadow: Mapping[str, FieldValue] | None,
    current: ContactState,
    modified_at: datetime,
) -> MergeOutcome:
    """Fold one record from `system` into `current`; pure, returns a new state."""
    state = dict(current)
    outcome = MergeOutcome(state=state)
    for name, binding in config.bound(system):
        if not binding.pulls or name not in values:
            continue
        incoming = values[name]
        if incoming is None:
            continue
        if (
            shadow is not None
            and binding.field in shadow
            and same_vendor_value(raw_fields.get(binding.field), shadow[binding.field])
        ):
            continue
        existing = state.get(name, FieldState(None))
        if existing.value == incoming:
            continue
        other_pending = (
            existing.value is not None
            and existing.source not in (None, system)
            and not delivered(binding, name, existing.value, shadow)
        )
        if (
            config.fields[name].policy == "consent"
            and is_explicit(existing.value)
            and not is_explicit(incoming)
        ):
            # "Not specified" never erases an explicit consent, disputed or not.
            continue
        winner: str | None = incoming
        if other_pending:
            winner = _resolve(config, name, system, existing, incoming, modified_at)
        if other_pending and not _uninformative(config, name, existing.value, incoming):
            dropped, dropped_from = (
                (existing.value, existing.source or "?")
                if winner == incoming
                else (incoming, system)
            )
            kept_from = system if winner == incoming else existing.source
            outcome.conflicts.append(Conflict(name, winner, kept_from, dropped, dropped_from))
        if winner == incoming:
            state[name] = FieldState(incoming, system, modified_at)
            outcome.changed.append(name)
    return outcome


def _uninformative(config: MappingConfig, name: str, a: str | None, b: str | None) -> bool:
    # "Not specified" against an explicit consent is missing information, not a dispute.
    return config.fields[name].policy == "consent" and Consent.NOT_SPECIFIED in (a, b)


def _resolve(
    config: MappingConfig,
    name: str,
    system: str,
    existing: FieldState,
    incoming: str,
    modified_at: datetime,
) -> str | None:
    policy = config.fields[name].policy
    if isinstance(policy, OwnerPolicy):
        return incoming if system == policy.owner else existing.value
    if policy == "consent":
        return resolve_consent(existing.value, existing.changed_at, incoming, modified_at)
    if existing.changed_at is None or modified_at >= existing.changed_at:
        return incoming
    return existing.value
