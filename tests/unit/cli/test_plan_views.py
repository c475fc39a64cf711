"""The dry-run and preview views say what would be written, per system and kind."""

from __future__ import annotations

from rich.console import Console

from cli.plan_views import dry_run_report, preview_report
from connectors.contract import WriteOp
from flows.dry_run import PlannedWrite
from flows.preview import Preview, RecordPreview


def _text(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_dry_run_report_has_counts_and_a_sample() -> None:
    summary = {
        "run_id": 7,
        "seconds": 0.5,
        "systems": {"hubspot": {"pulled": 3, "api_calls": 2}, "mailchimp": {"pulled": 4}},
        "planned": {"hubspot": {"create": 1, "update": 2}, "mailchimp": {"create": 0, "update": 5}},
        "sample": [
            {
                "system": "mailchimp",
                "kind": "update",
                "email": "a@example.org",
                "fields": {"merge_fields.FNAME": "Ann"},
            },
        ],
    }
    text = _text(dry_run_report(summary))
    assert "nothing was written" in text
    hubspot_row = next(line for line in text.splitlines() if line.strip().startswith("hubspot"))
    assert hubspot_row.split() == ["hubspot", "3", "0", "0", "1", "2", "2"]
    assert "mailchimp update a@example.org: merge_fields.FNAME='Ann'" in text


def test_preview_report_shows_readings_problems_and_writes() -> None:
    write = PlannedWrite.of(
        "mailchimp", WriteOp(key="k", email="a@example.org", fields={"status": "transactional"})
    )
    shown = Preview(
        ["hubspot", "mailchimp"],
        [
            RecordPreview(
                "hubspot",
                "11",
                "A@example.org ",
                {"email": "a@example.org"},
                contact={"email": "a@example.org"},
                writes=(write,),
            ),
            RecordPreview("hubspot", "12", None, {}, problems=("no email",)),
        ],
    )
    text = _text(preview_report(shown))
    assert "would write mailchimp create a@example.org: status='transactional'" in text
    assert "would dead-letter: no email" in text
    assert "hubspot 0 create, 0 update; mailchimp 1 create, 0 update" in text


def test_status_lists_a_dry_run_with_what_it_planned() -> None:
    from datetime import UTC, datetime

    from cli.views import recent_runs
    from state.models import RunStatus, SyncRunRow

    run = SyncRunRow(
        id=3,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        status=RunStatus.COMPLETED,
        stats={
            "seconds": 1.0,
            "systems": {"hubspot": {"created": 0}},
            "dry_run": True,
            "planned": {"hubspot": {"create": 2, "update": 1}, "mailchimp": {"create": 4}},
        },
    )
    row = next(line for line in _text(recent_runs([run])).splitlines() if "dry run" in line)
    assert "7 planned" in row
