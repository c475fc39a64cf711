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
from typing import Protocol

from connectors.contract import FieldValue
from mapping.config import Binding, MappingConfig, OwnerPolicy, Policy
from mapping.consent import is_explicit, resolve_consent
from mapping.schema import CanonicalField, Consent
from mapping.translate import CanonicalValues, reads_as, same_vendor_value


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
    binding: Binding,
    spec: CanonicalField,
    value: str | None,
    shadow: Mapping[str, FieldValue] | None,
) -> bool:
    """Does the system's last-synced value already mean `value`?"""
    if shadow is None or binding.field not in shadow:
        return False
    return reads_as(spec, binding, shadow[binding.field], value)


class MergePolicy(Protocol):
    """How one field settles a change that meets another system's pending one."""

    def keeps(self, existing: str | None, incoming: str) -> bool:
        """Is `existing` kept without a contest (the incoming value adds nothing)?"""

    def resolve(self, system: str, existing: FieldState, incoming: str, at: datetime) -> str | None:
        """The value that survives when both systems changed the field."""

    def disputed(self, existing: str | None, incoming: str) -> bool:
        """Is dropping one of the two values worth reporting as a conflict?"""


@dataclass(frozen=True)
class NewestWins:
    """The later change wins; a tie goes to the incoming record."""

    def keeps(self, existing: str | None, incoming: str) -> bool:
        return False

    def resolve(self, system: str, existing: FieldState, incoming: str, at: datetime) -> str | None:
        if existing.changed_at is None or at >= existing.changed_at:
            return incoming
        return existing.value

    def disputed(self, existing: str | None, incoming: str) -> bool:
        return True


@dataclass(frozen=True)
class OwnerWins:
    """One system owns the field: its value wins whatever the timestamps say."""

    owner: str

    def keeps(self, existing: str | None, incoming: str) -> bool:
        return False

    def resolve(self, system: str, existing: FieldState, incoming: str, at: datetime) -> str | None:
        return incoming if system == self.owner else existing.value

    def disputed(self, existing: str | None, incoming: str) -> bool:
        return True


@dataclass(frozen=True)
class ConsentFirst:
    """Consent rules: see `mapping.consent.resolve_consent`."""

    def keeps(self, existing: str | None, incoming: str) -> bool:
        # "Not specified" never erases an explicit consent, disputed or not.
        return is_explicit(existing) and not is_explicit(incoming)

    def resolve(self, system: str, existing: FieldState, incoming: str, at: datetime) -> str | None:
        return resolve_consent(existing.value, existing.changed_at, incoming, at)

    def disputed(self, existing: str | None, incoming: str) -> bool:
        # "Not specified" against an explicit consent is missing information, not a dispute.
        return Consent.NOT_SPECIFIED not in (existing, incoming)


def policy_for(policy: Policy) -> MergePolicy:
    """The merge policy object for a field's `policy:` setting."""
    if isinstance(policy, OwnerPolicy):
        return OwnerWins(policy.owner)
    if policy == "consent":
        return ConsentFirst()
    return NewestWins()


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
        incoming = values.get(name)
        if not binding.pulls or incoming is None:
            continue
        if _unchanged_there(binding, raw_fields, shadow):
            continue
        existing = state.get(name, FieldState(None))
        policy = policy_for(config.fields[name].policy)
        if existing.value == incoming or policy.keeps(existing.value, incoming):
            continue
        pending = (
            existing.value is not None
            and existing.source not in (None, system)
            and not delivered(binding, config.spec(name), existing.value, shadow)
        )
        winner = policy.resolve(system, existing, incoming, modified_at) if pending else incoming
        if pending and policy.disputed(existing.value, incoming):
            outcome.conflicts.append(_conflict(name, system, existing, incoming, winner))
        if winner == incoming:
            state[name] = FieldState(incoming, system, modified_at)
            outcome.changed.append(name)
    return outcome


def _unchanged_there(
    binding: Binding, raw_fields: Mapping[str, FieldValue], shadow: Mapping[str, FieldValue] | None
) -> bool:
    """Does the system still hold the value Baton last synced with it?"""
    return (
        shadow is not None
        and binding.field in shadow
        and same_vendor_value(raw_fields.get(binding.field), shadow[binding.field])
    )


def _conflict(
    name: str, system: str, existing: FieldState, incoming: str, winner: str | None
) -> Conflict:
    if winner == incoming:
        return Conflict(name, winner, system, existing.value, existing.source or "?")
    return Conflict(name, winner, existing.source, incoming, system)
