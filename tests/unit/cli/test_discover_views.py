"""The discovery view: options cut short, flags, and what the mapping binds."""

from __future__ import annotations

from rich.console import Console

from cli.discover_views import missing_line, options_text, system_fields
from connectors.fields import FieldInfo
from flows.discover import DiscoveredField


def test_options_are_cut_after_four() -> None:
    assert options_text(None) == ""
    assert options_text(("a", "b")) == "a, b"
    assert options_text(tuple("abcdef")) == "a, b, c, d, … (6 in all)"


def test_fields_show_flags_and_mapping() -> None:
    fields = [
        DiscoveredField(FieldInfo("jobtitle", "Job Title", "string"), "job_title"),
        DiscoveredField(FieldInfo("hs_x", "X", "enumeration", ("a",), read_only=True), None),
    ]
    console = Console(width=160, record=True)
    console.print(system_fields("hubspot", fields))
    text = console.export_text()
    assert "hubspot: 2 fields, 1 mapped" in text
    row = next(line for line in text.splitlines() if "hs_x" in line)
    assert "read-only" in row and "unmapped" in row
    assert "job_title" in next(line for line in text.splitlines() if "jobtitle" in line)
    assert "`baton mapping apply`" in missing_line("mailchimp", [("merge_fields.X", "x")])
