"""The scratch database: steps see their own commits, and discarding keeps nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from state import repository as repo
from state.database import Database
from state.models import ContactRow, CursorRow, utcnow
from state.scratch import ScratchDatabase


def _count(db: Database) -> tuple[int, int]:
    with db.session() as s:
        contacts = s.scalar(select(func.count()).select_from(ContactRow)) or 0
        cursors = s.scalar(select(func.count()).select_from(CursorRow)) or 0
    return contacts, cursors


def test_commits_are_seen_inside_and_gone_after_discard(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    real = Database(url)
    with real.session() as s:
        s.add(ContactRow(email="kept@example.org"))
        s.commit()
    scratch = ScratchDatabase(url)
    with scratch.session() as s:
        s.add(ContactRow(email="planned@example.org"))
        repo.advance_cursor(s, "hubspot.contacts", utcnow(), None)
        s.commit()
    with scratch.session() as s:
        emails = set(s.scalars(select(ContactRow.email)))
    assert emails == {"kept@example.org", "planned@example.org"}
    with scratch.session() as s:  # a session closed without commit undoes only its own work
        s.add(ContactRow(email="dropped@example.org"))
        s.flush()
    assert _count(scratch) == (2, 1)
    scratch.discard()
    assert _count(real) == (1, 0)
    real.dispose()


def test_a_database_without_tables_stays_without(tmp_path: Path) -> None:
    file = tmp_path / "new.db"
    scratch = ScratchDatabase(f"sqlite:///{file}")
    assert _count(scratch) == (0, 0)
    scratch.discard()
    real = Database(f"sqlite:///{file}")
    assert _count(real) == (0, 0)
    real.dispose()
