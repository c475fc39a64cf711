"""The contract every contact connector fulfils.

Connectors speak raw vendor data: they know paths, paging, batching, retries
and error bodies, and nothing about Baton's canonical schema. A record is
handed over as a `RawRecord` whose `fields` are *flattened vendor field paths*
(`"firstname"` for HubSpot, `"merge_fields.FNAME"` or `"status"` for
Mailchimp); a write is a `WriteOp` with fields in the same flattened form.
The mapping layer translates between these paths and the canonical schema.

A second email platform is a new class with the same shape, not a rewrite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol, runtime_checkable

FieldValue = str | int | float | bool | None | list[str]


@dataclass(frozen=True)
class RawRecord:
    """One record as the vendor returned it, fields flattened to dotted paths."""

    system: str
    external_id: str
    email: str | None
    modified_at: datetime
    fields: Mapping[str, FieldValue]
    merged_ids: tuple[str, ...] = ()
    """Ids of records the vendor merged into this one (they now resolve to it)."""
    known_as: tuple[str, ...] = ()
    """Other ids of this same record (one Baton may have linked it by before)."""
    archived: bool = False
    """The vendor archived (soft-deleted) the record: nothing more is written to it."""


@dataclass(frozen=True)
class Page:
    """One page of a pull; `next_token` is None on the last page.

    Tokens are plain strings so a page can be fetched again after a crash
    (and passed between Prefect tasks).
    """

    records: Sequence[RawRecord]
    next_token: str | None


@dataclass(frozen=True)
class WriteOp:
    """One record to write. `external_id` None means create (addressed by email)."""

    key: str
    email: str
    fields: Mapping[str, FieldValue]
    external_id: str | None = None


@dataclass(frozen=True)
class RecordFailure:
    """Why the vendor refused one record of a batch."""

    message: str
    status: int | None = None
    category: str | None = None
    request_id: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class WriteOutcome:
    """The result of one `WriteOp`: the record as written, or the failure."""

    key: str
    record: RawRecord | None = None
    failure: RecordFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


# The value Baton may send to a field given the one the record holds now
# (None: a record about to be created); None means leave the field alone.
WriteGuard = Callable[[str | None, str | None], str | None]


class ConsentMeaning(IntEnum):
    """What a system does with a person given one of its consent values, from least to
    most permissive (the order matters: Baton never writes or reads a value as more
    permissive than what it stands for)."""

    WITHDRAWN = 0
    """Opted out, or undeliverable: no marketing email."""
    NONE = 1
    """No permission recorded either way: no marketing email."""
    REQUESTED = 2
    """A confirmation request goes out (double opt-in); marketing only after it."""
    GRANTED = 3
    """The person receives marketing email."""


@dataclass(frozen=True)
class ConsentVocabulary:
    """The vendor field holding email consent and what each of its values means."""

    field: str
    meanings: Mapping[str, ConsentMeaning]


def _any_name(name: str) -> str | None:
    return None


@dataclass(frozen=True)
class SystemRules:
    """What the core needs to know about a system, asked of its connector
    instead of testing the system's name."""

    marketing: bool = False
    """Marketing reads this system: sensitive (clinical) fields never go there."""
    exists_categories: frozenset[str] = frozenset()
    """Failure categories meaning a create met a record that already exists there."""
    guards: Mapping[str, WriteGuard] = field(default_factory=dict)
    """Per vendor field, the transitions the system allows Baton to make."""
    renders: Mapping[str, Callable[[str], FieldValue]] = field(default_factory=dict)
    """Per canonical type name (``date``, ``number``, ...), how the system wants a value
    in that type's canonical text written, where it differs from the text itself."""

    address_locks: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per vendor field, the values under which a record's email address cannot be
    changed (the record keeps the address it has)."""

    def render(self, kind: str, value: FieldValue) -> FieldValue:
        """`value` (canonical text of type `kind`) as this system takes it."""
        how = self.renders.get(kind)
        return how(value) if how is not None and isinstance(value, str) else value

    consent: ConsentVocabulary | None = None
    """Where the system records email consent, and its values; None: it records none."""
    field_name_problem: Callable[[str], str | None] = _any_name
    """Why a vendor field path can never exist in this system (None when it can)."""
    holds: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Vendor field type -> the canonical types its fields can hold (types not listed
    are not checked)."""

    def address_locked(self, fields: Mapping[str, FieldValue]) -> bool:
        """May the record holding `fields` not have its address changed?"""
        return any(str(fields.get(name)) in values for name, values in self.address_locks.items())

    def guard(self, field: str, desired: str | None, current: str | None) -> str | None:
        """`desired` as Baton may send it to `field`, or None to leave the field alone."""
        check = self.guards.get(field)
        return desired if check is None else check(desired, current)

    def already_exists(self, failure: RecordFailure) -> bool:
        return failure.category in self.exists_categories


@dataclass
class CallStats:
    """API calls made, counted per endpoint (method + path template)."""

    calls: dict[str, int] = field(default_factory=dict)
    retries: int = 0

    def count(self, endpoint: str) -> None:
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@runtime_checkable
class ContactConnector(Protocol):
    """What the sync flow needs from any system that holds contacts."""

    system: str
    rules: SystemRules
    page_size: int
    write_batch_size: int
    stats: CallStats

    async def check(self) -> None:
        """One cheap authenticated call; raises a `ConnectorError` if it fails."""

    async def fetch_page(self, since: datetime | None, token: str | None) -> Page:
        """Records modified at or after `since` (all when None), one page from `token`."""

    async def read(self, ops: Sequence[WriteOp]) -> dict[str, RawRecord]:
        """Current state of the records the ops address, keyed by op key.

        Used to reconcile writes whose outcome is unknown after a crash; a
        record that does not exist is absent from the result.
        """

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        """Write up to `write_batch_size` ops; one outcome per op, in any order."""

    async def field_names(self) -> set[str]:
        """The vendor field paths this account has, for checking a mapping against."""

    async def read_only_fields(self) -> set[str]:
        """Vendor fields nobody may write (those the connector writes through another
        channel excluded), for refusing a mapping that pushes to one."""

    async def aclose(self) -> None:
        """Close the underlying HTTP client."""


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, FieldValue]:
    """Flatten nested objects to dotted paths; lists of scalars stay lists."""
    out: dict[str, FieldValue] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def unflatten(fields: Mapping[str, FieldValue]) -> dict[str, Any]:
    """Inverse of `flatten` for writing payloads."""
    out: dict[str, Any] = {}
    for path, value in fields.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
