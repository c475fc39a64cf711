"""How the CLI shows planned writes (`sync --dry-run`, `mapping preview`): rich
renderables, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flows.preview import Preview, RecordPreview

_DRY_COLUMNS = (
    ("pulled", "read"),
    ("changed", "changed"),
    ("dead_lettered", "dead"),
    ("api_calls", "calls"),
)


def write_line(system: str, kind: str, email: str, fields: Mapping[str, Any]) -> Text:
    """One planned write: `mailchimp update ann@example.org: FNAME='Ann', …`."""
    shown = ", ".join(f"{name}={value!r}" for name, value in fields.items()) or "(no fields)"
    line = Text(f"{system} {kind} ", style="bold")
    line.append(f"{email}: ")
    line.append(shown, style="dim" if not fields else "")
    return line


def dry_run_report(summary: Mapping[str, Any]) -> Group:
    """Counts per system and kind, then a sample of the writes."""
    table = Table(
        title="Baton sync --dry-run (nothing was written)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("system")
    for _, header in _DRY_COLUMNS[:3]:
        table.add_column(header, justify="right")
    table.add_column("would create", justify="right")
    table.add_column("would update", justify="right")
    table.add_column(_DRY_COLUMNS[3][1], justify="right")
    planned: Mapping[str, Mapping[str, int]] = summary.get("planned") or {}
    for system, counts in summary["systems"].items():
        kinds = planned.get(system, {})
        table.add_row(
            system,
            *(str(counts.get(key, 0)) for key, _ in _DRY_COLUMNS[:3]),
            str(kinds.get("create", 0)),
            str(kinds.get("update", 0)),
            str(counts.get("api_calls", 0)),
        )
    parts: list[RenderableType] = [table]
    sample = summary.get("sample") or []
    if sample:
        parts.append(Text("A sample of the writes:"))
        parts.extend(
            write_line(w["system"], w["kind"], w["email"], w.get("fields") or {}) for w in sample
        )
    parts.append(
        Text(
            f"dry run {summary.get('run_id', '?')} took {summary['seconds']:.2f} s; "
            "`baton sync` sends these writes.",
            style="dim",
        )
    )
    return Group(*parts)


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items() if v not in (None, "")) or "-"


def record_preview(record: RecordPreview) -> Group:
    head = Text(f"{record.system} {record.external_id} ", style="bold")
    head.append(record.email or "(no email)")
    lines: list[RenderableType] = [head, Text(f"  reads as: {_values(record.values)}")]
    for problem in record.problems:
        lines.append(Text(f"  would dead-letter: {problem}", style="yellow"))
    if record.contact is not None:
        lines.append(Text(f"  contact after merge: {_values(record.contact)}"))
    if record.writes:
        for write in record.writes:
            line = Text("  would write ")
            line.append(write_line(write.system, str(write.kind), write.email, write.fields))
            lines.append(line)
    elif record.contact is not None:
        lines.append(Text("  no writes: both systems already hold this contact", style="dim"))
    return Group(*lines)


def preview_report(preview: Preview) -> Group:
    parts: list[RenderableType] = [record_preview(r) for r in preview.records]
    counts = preview.plan().counts()
    parts.append(Text(_totals(counts.items()), style="bold"))
    parts.append(
        Text("Nothing was written; `baton sync --dry-run` plans a whole run.", style="dim")
    )
    return Group(*parts)


def _totals(counts: Iterable[tuple[str, Mapping[str, int]]]) -> str:
    return "writes for these records: " + "; ".join(
        f"{system} {kinds.get('create', 0)} create, {kinds.get('update', 0)} update"
        for system, kinds in counts
    )
