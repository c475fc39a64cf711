"""How the CLI shows runs, the outbox and dead letters: rich renderables, no I/O."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from state.models import DeadLetterRow, SyncRunRow

# (summary key, header): read from each system, then written to it, then the rest.
RUN_COLUMNS = (
    ("pulled", "read"),
    ("changed", "changed"),
    ("created", "created"),
    ("updated", "updated"),
    ("dead_lettered", "dead"),
    ("conflicts", "conflicts"),
    ("api_calls", "calls"),
)
RUN_LEGEND = (
    "read/changed: records pulled from the system, and how many changed a contact; "
    "created/updated: records Baton wrote to it; dead: dead letters; calls: API requests."
)
_OUTBOX_ORDER = ("pending", "in_flight", "sent", "dead", "superseded")


def run_report(title: str, summary: Mapping[str, Any], *, legend: bool = True) -> Group:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("system")
    for _, header in RUN_COLUMNS:
        table.add_column(header, justify="right")
    for system, counts in summary["systems"].items():
        table.add_row(system, *(str(counts.get(key, 0)) for key, _ in RUN_COLUMNS))
    footer = Text(f"run {summary.get('run_id', '?')} took {summary['seconds']:.2f} s. ")
    if legend:
        footer.append(RUN_LEGEND, style="dim")
    return Group(table, footer)


def recent_runs(runs: Iterable[SyncRunRow], killed: Container[int] = ()) -> Table:
    """`killed`: runs marked running whose process is gone."""
    table = Table(title="Recent runs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column, justify in (
        ("run", "right"),
        ("started (UTC)", "left"),
        ("status", "left"),
        ("seconds", "right"),
        ("writes", "right"),
        ("dead", "right"),
        ("error", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for run in runs:
        systems = run.stats.get("systems", {}).values()
        writes = sum(c.get("created", 0) + c.get("updated", 0) for c in systems)
        dead = sum(c.get("dead_lettered", 0) for c in systems)
        seconds = run.stats.get("seconds")
        status, written = "killed" if run.id in killed else str(run.status), str(writes)
        if run.stats.get("dry_run"):
            # A dry run sent nothing: show what it planned instead.
            planned = run.stats.get("planned", {}).values()
            status += " (dry run)"
            written = f"{sum(sum(kinds.values()) for kinds in planned)} planned"
        table.add_row(
            str(run.id),
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            status,
            f"{seconds:.2f}" if seconds else "",
            written,
            str(dead),
            Text(run.error or ""),
        )
    return table


def outbox_line(depth: Mapping[str, Mapping[str, int]]) -> str:
    if not depth:
        return "Outbox: empty"
    parts = []
    for system, counts in sorted(depth.items()):
        shown = [f"{counts[s]} {s.replace('_', ' ')}" for s in _OUTBOX_ORDER if counts.get(s)]
        parts.append(f"{system} " + ", ".join(shown))
    return "Outbox (all time): " + "; ".join(parts)


def dead_letters(letters: Iterable[DeadLetterRow], total: int) -> Table:
    """One row per letter; the reason wraps under its own column."""
    table = Table(
        title=f"Open dead letters: {total}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("why", ratio=1)
    for letter in letters:
        record = letter.external_id or str(letter.payload.get("email") or "new record")
        where = f"{letter.stage} {letter.system}\n{record}"
        why = Text(letter.reason)
        if letter.field:
            why.append(f"\nfield: {letter.field}", style="dim")
        if letter.request_id:
            why.append(f"\nrequest id: {letter.request_id}", style="dim")
        table.add_row(str(letter.id), Text(where), why)
    return table
