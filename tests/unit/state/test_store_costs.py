"""Per-record store costs stay constant: one open letter per slot, closed in one
statement per page, and every per-page lookup served by an index."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text

from state import repository as repo
from state.database import Database
from state.models import DeadLetterRow
from state.working_set import WorkingSet


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    yield database
    database.dispose()


def pull_letter(s, external_id: str, field: str | None = "phone", run_id: int = 1) -> None:
    repo.add_dead_letter(
        s,
        stage="pull",
        system="hubspot",
        reason=f"record {external_id}: bad {field}",
        payload={"external_id": external_id},
        run_id=run_id,
        external_id=external_id,
        field=field,
    )


def push_letter(s, contact_id: int, run_id: int = 1) -> None:
    repo.add_dead_letter(
        s,
        stage="push",
        system="mailchimp",
        reason=f"refused contact {contact_id}",
        payload={},
        run_id=run_id,
        contact_id=contact_id,
    )


def open_letters(s) -> list[tuple[str | None, int | None, str | None, int | None]]:
    rows = s.scalars(select(DeadLetterRow).where(DeadLetterRow.resolved_at.is_(None)))
    return sorted(((r.external_id, r.contact_id, r.field, r.run_id) for r in rows), key=repr)


def test_a_newer_copy_replaces_the_open_letter_of_its_record_and_field(db: Database) -> None:
    with db.session() as s:
        pull_letter(s, "h1", "phone", run_id=1)
        pull_letter(s, "h1", "lifecycle", run_id=1)
        pull_letter(s, "h1", None, run_id=1)
        pull_letter(s, "h2", "phone", run_id=1)
        s.commit()
        pull_letter(s, "h1", "phone", run_id=2)
        pull_letter(s, "h1", None, run_id=2)
        s.commit()
        assert open_letters(s) == [
            ("h1", None, "lifecycle", 1),
            ("h1", None, "phone", 2),
            ("h1", None, None, 2),
            ("h2", None, "phone", 1),
        ]
        closed = s.scalars(select(DeadLetterRow).where(DeadLetterRow.resolved_at.is_not(None)))
        assert {r.resolution for r in closed} == {"superseded by a newer copy of the record"}


def test_the_same_record_twice_in_one_page_leaves_one_letter_open(db: Database) -> None:
    with db.session() as s:
        pull_letter(s, "h1", run_id=1)
        pull_letter(s, "h1", run_id=2)
        push_letter(s, 7, run_id=1)
        push_letter(s, 7, run_id=2)
        s.commit()
        assert open_letters(s) == [("h1", None, "phone", 2), (None, 7, None, 2)]


def test_letters_flushed_earlier_in_the_page_are_replaced_too(db: Database) -> None:
    with db.session() as s:
        push_letter(s, 7, run_id=1)
        s.flush()  # a page flushes midway to get ids for new contacts
        push_letter(s, 7, run_id=2)
        s.commit()
        assert open_letters(s) == [(None, 7, None, 2)]


def test_a_rolled_back_letter_closes_nothing_later(db: Database) -> None:
    with db.session() as s:
        push_letter(s, 7, run_id=1)
        s.commit()
        push_letter(s, 7, run_id=2)
        s.rollback()
        s.commit()
        assert open_letters(s) == [(None, 7, None, 1)]


def test_a_write_that_goes_through_closes_its_contacts_letters(db: Database) -> None:
    with db.session() as s:
        push_letter(s, 7)
        push_letter(s, 8)
        s.commit()
        repo.resolve_push_letters(s, "mailchimp", [7])
        s.commit()
        assert open_letters(s) == [(None, 8, None, 1)]


def count_statements(db: Database) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("letters", [1, 50, 400])
def test_a_page_of_letters_costs_the_same_statements_whatever_its_size(
    db: Database, letters: int
) -> None:
    with db.session() as s:
        for i in range(letters):
            pull_letter(s, f"h{i}")
            push_letter(s, i)
        s.commit()
    seen = count_statements(db)
    with db.session() as s:
        for i in range(letters):
            pull_letter(s, f"h{i}", run_id=2)
            push_letter(s, i, run_id=2)
        s.commit()
    updates = [q for q in seen if q.lstrip().upper().startswith("UPDATE")]
    # One close per kind of letter (pull on "phone", push); inserts go out together.
    assert len(updates) == 2
    inserts = [q for q in seen if q.lstrip().upper().startswith("INSERT")]
    assert len(inserts) <= 2


def plan_of(db: Database, sql: str, **params: Any) -> str:
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params).all()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE dead_letters SET resolved_at = 1 WHERE resolved_at IS NULL AND stage = 'pull'"
        " AND system = 'hubspot' AND field = 'phone' AND external_id IN ('a', 'b')",
        "UPDATE dead_letters SET resolved_at = 1 WHERE resolved_at IS NULL AND stage = 'push'"
        " AND system = 'hubspot' AND contact_id IN (1, 2)",
        "SELECT * FROM dead_letters WHERE resolved_at IS NULL ORDER BY id DESC LIMIT 100",
        "SELECT * FROM links WHERE contact_id IN (1, 2)",
        "SELECT * FROM outbox WHERE system = 'hubspot' AND status = 'pending'"
        " ORDER BY (external_id IS NOT NULL), id LIMIT 100",
        "DELETE FROM outbox WHERE system = 'hubspot' AND contact_id IN (1, 2)"
        " AND status = 'pending'",
    ],
)
def test_every_per_page_lookup_uses_an_index(db: Database, sql: str) -> None:
    plan = plan_of(db, sql)
    # A bare "SCAN table" reads every row; through a (partial) index it reads only open ones.
    steps = [step.strip() for step in plan.split("|")]
    assert all("USING" in step for step in steps if step.startswith(("SCAN", "SEARCH"))), plan
    assert "TEMP B-TREE" not in plan, plan  # no sort of every pending write per claim


def test_an_older_database_gets_the_new_indexes(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Database(url).dispose()
    with Database(url).engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_dead_letters_open_contact"))
    reopened = Database(url)
    with reopened.engine.connect() as conn:
        names = {row[0] for row in conn.execute(text("SELECT name FROM sqlite_master"))}
    reopened.dispose()
    assert "ix_dead_letters_open_contact" in names


def test_working_set_loads_links_of_many_contacts_in_few_queries(db: Database) -> None:
    with db.session() as s:
        work = WorkingSet(s)
        contacts = work.create_contacts([f"p{i}@x.org" for i in range(300)])
        for c in contacts:
            work.save_link("hubspot", f"h{c.id}", c.id, {}, None)
        s.commit()
        ids = [c.id for c in contacts]
    seen = count_statements(db)
    with db.session() as s:
        WorkingSet(s).load_contacts(ids)
    # Contacts, their links, and the records of theirs Baton retired.
    assert len([q for q in seen if q.lstrip().upper().startswith("SELECT")]) == 3
