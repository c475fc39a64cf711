"""How the CLI shows a discovery: each system's fields, their types, options and flags,
and what the current mapping binds them to. Rich renderables, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from flows.discover import DiscoveredField

_SHOWN_OPTIONS = 4


def options_text(options: Sequence[str] | None) -> str:
    if options is None:
        return ""
    shown = ", ".join(options[:_SHOWN_OPTIONS])
    more = f", … ({len(options)} in all)" if len(options) > _SHOWN_OPTIONS else ""
    return shown + more


def system_fields(system: str, fields: Sequence[DiscoveredField]) -> Table:
    mapped = sum(1 for f in fields if f.mapped_as)
    table = Table(
        title=f"{system}: {len(fields)} fields, {mapped} mapped",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("field", "label", "type", "options", "flags", "mapped as"):
        table.add_column(column, overflow="fold")
    for field in fields:
        info = field.info
        flags = [
            flag for flag, on in (("read-only", info.read_only), ("custom", info.custom)) if on
        ]
        table.add_row(
            info.name,
            info.label,
            info.type,
            options_text(info.options),
            ", ".join(flags),
            Text(field.mapped_as) if field.mapped_as else Text("unmapped", style="dim"),
        )
    return table


def missing_line(system: str, missing: Sequence[tuple[str, str]]) -> str:
    """The fields the mapping binds that `system` lacks, and the command that adds them."""
    named = ", ".join(f"{vendor} ({canonical})" for vendor, canonical in missing)
    return f"the mapping binds fields {system} lacks: {named}; `baton mapping apply` creates them"
