"""Field definitions as a portal reports them, and what Baton asks a portal to create.

These are the admin side of a connector (``baton mapping discover / apply / validate
--remote``): `FieldInfo` describes one existing field in the vendor's own vocabulary, and
`FieldSpec` says what Baton needs, in canonical terms (plain strings: connectors import
nothing of Baton's). Each connector turns a spec into its vendor's definition, or says why
it cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# Canonical value types a spec may ask for (the mapping schema's type names).
CANONICAL_TYPES = frozenset(
    {
        "string",
        "email",
        "phone",
        "number",
        "boolean",
        "date",
        "datetime",
        "enum",
        "multi_select",
        "consent",
    }
)

# Canonical types a free-text field can hold (as text).
TEXT_HOLDS = frozenset(
    {"string", "email", "phone", "number", "boolean", "date", "datetime", "enum", "multi_select"}
)


@dataclass(frozen=True)
class FieldInfo:
    """One field of a live portal."""

    name: str
    """The flattened vendor path a mapping binds (``service_line``, ``merge_fields.SERVICE``)."""
    label: str
    type: str
    """The vendor's own type (HubSpot ``enumeration``, Mailchimp ``dropdown``, …)."""
    options: tuple[str, ...] | None = None
    """Values a record may hold, for enumerations / dropdowns; None when free."""
    option_labels: tuple[str, ...] = ()
    """Display labels, parallel to `options` (HubSpot's labels differ from its values)."""
    read_only: bool = False
    """Values cannot be written through the API."""
    custom: bool = False
    """Created by the portal's admin or an integration, not by the vendor."""
    editable: bool = True
    """Its definition (options) may be changed through the API."""
    vendor_id: str | None = None
    """The vendor's id for the definition when it is not the name (Mailchimp's merge_id)."""
    canonical_type: str | None = None
    """The canonical type (see `CANONICAL_TYPES`) that holds this field's values; None when
    Baton has none that fits (an address, a birthday without a year, tags)."""


@dataclass(frozen=True)
class FieldSpec:
    """A field Baton needs a portal to have."""

    name: str
    """The flattened vendor path, as in the mapping file."""
    label: str
    type: str
    """A canonical type (see `CANONICAL_TYPES`)."""
    options: tuple[str, ...] = ()
    """Vendor values an enumeration must offer."""
    option_labels: tuple[str, ...] = ()
    """Display labels parallel to `options` (defaults to the values)."""


class FieldCreationRefused(Exception):
    """A spec this vendor cannot create as asked (the reason names the field and the fix)."""

    def __init__(self, system: str, name: str, reason: str) -> None:
        super().__init__(f"{system} field {name!r}: {reason}")
        self.system = system
        self.name = name
        self.reason = reason


@runtime_checkable
class FieldAdmin(Protocol):
    """What a connector offers the admin commands (discover, apply, validate --remote)."""

    system: str
    field_limit: int | None
    """How many custom + default fields the account may hold (None: no known limit)."""
    standard_fields: Mapping[str, str]
    """Canonical field -> the vendor field every account has for it (``first_name`` ->
    ``firstname``), for a starter mapping."""
    consent_binding: Mapping[str, Any]
    """The binding of the built-in consent field, as a mapping-file block."""

    async def describe_fields(self) -> list[FieldInfo]:
        """Every field the account has, with types, options and read-only flags."""

    def creation_problem(self, spec: FieldSpec) -> str | None:
        """Why `spec` cannot be created here (None when it can); no network call."""

    def counts_toward_limit(self, field: FieldInfo) -> bool:
        """Does this field use one of the account's `field_limit` slots?"""

    async def create_field(self, spec: FieldSpec) -> FieldInfo:
        """Create the field (and whatever container it needs); raises on refusal."""

    async def add_options(
        self, field: FieldInfo, values: Sequence[str], labels: Sequence[str]
    ) -> FieldInfo:
        """Add enumeration values to an existing field, keeping the ones it has."""


def labels_for(spec: FieldSpec) -> tuple[str, ...]:
    """The spec's option labels, falling back to the values themselves."""
    if len(spec.option_labels) == len(spec.options):
        return spec.option_labels
    return spec.options
