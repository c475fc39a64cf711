from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mapping.merge import FieldState
from state import repository as repo
from state.database import Database
from state.models import OutboxRow
from state.working_set import WorkingSet

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    yield database
    database.dispose()


def test_state_round_trips_with_provenance(db: Database) -> None:
    with db.session() as s:
        row = WorkingSet(s).create_contact("a@x.org")
        repo.store_state(row, {"first_name": FieldState("Ana", "hubspot", T0)})
        s.commit()
        contact_id = row.id
    with db.session() as s:
        row = repo.contact_by_email(s, "a@x.org")
        assert row is not None and row.id == contact_id
        assert repo.contact_state(row) == {"first_name": FieldState("Ana", "hubspot", T0)}


def test_cursor_never_moves_backwards(db: Database) -> None:
    with db.session() as s:
        repo.advance_cursor(s, "hubspot.contacts", T0, 1)
        s.commit()
        repo.advance_cursor(s, "hubspot.contacts", T0 - timedelta(hours=1), 2)
        s.commit()
        assert repo.cursor(s, "hubspot.contacts") == T0


def plan(s, write: repo.PlannedWrite) -> list[OutboxRow]:
    keys = repo.replace_pending_writes(s, [write], run_id=1)
    s.commit()
    return [s.scalars(select(OutboxRow).where(OutboxRow.idempotency_key == k)).one() for k in keys]


def test_planning_replaces_the_pending_write(db: Database) -> None:
    with db.session() as s:
        contact = WorkingSet(s).create_contact("a@x.org")
        kw = {
            "system": "mailchimp",
            "contact_id": contact.id,
            "email": "a@x.org",
            "external_id": "h1",
        }
        plan(s, repo.PlannedWrite(payload={"merge_fields.FNAME": "A"}, **kw))
        plan(s, repo.PlannedWrite(payload={"merge_fields.FNAME": "B"}, **kw))
        pending = repo.pending_writes(s, "mailchimp", 10)
        assert [r.payload for r in pending] == [{"merge_fields.FNAME": "B"}]
        plan(s, repo.PlannedWrite(payload={}, **kw))
        assert repo.pending_writes(s, "mailchimp", 10) == []


def test_every_planned_write_gets_its_own_key(db: Database) -> None:
    # A -> B -> A: the same payload planned again after it was sent is a new write.
    with db.session() as s:
        contact = WorkingSet(s).create_contact("a@x.org")
        write = repo.PlannedWrite(
            system="hubspot",
            contact_id=contact.id,
            email="a@x.org",
            external_id="7",
            payload={"firstname": "A"},
        )
        [first] = plan(s, write)
        first.status = "sent"
        s.commit()
        [second] = plan(s, write)
        assert second.idempotency_key != first.idempotency_key
        assert [r.status for r in s.query(OutboxRow).order_by(OutboxRow.id)] == [
            "sent",
            "pending",
        ]


def test_creates_are_drained_before_updates(db: Database) -> None:
    with db.session() as s:
        work = WorkingSet(s)
        writes = []
        for i, external in enumerate(["1", None, "2", None]):
            contact = work.create_contact(f"c{i}@x.org")
            writes.append(
                repo.PlannedWrite(
                    system="hubspot",
                    contact_id=contact.id,
                    email=contact.email,
                    external_id=external,
                    payload={"firstname": str(i)},
                )
            )
        repo.replace_pending_writes(s, writes, run_id=1)
        s.commit()
        order = [r.external_id for r in repo.pending_writes(s, "hubspot", 10)]
        assert order == [None, None, "1", "2"]


def test_naive_datetimes_are_refused(db: Database) -> None:
    from sqlalchemy.exc import StatementError

    with db.session() as s:
        repo.advance_cursor(s, "x", datetime(2026, 1, 1), None)  # noqa: DTZ001
        with pytest.raises(StatementError, match="naive datetime"):
            s.commit()


def test_a_live_lease_refuses_a_second_run(db: Database) -> None:
    from datetime import timedelta as td

    with db.session() as s:
        assert repo.acquire_lease(s, "sync", 1, td(minutes=10), holder="h:1") is None
        s.commit()
        with pytest.raises(repo.LeaseHeld, match="run 1 is still running"):
            repo.acquire_lease(s, "sync", 2, td(minutes=10), holder="h:2")
        s.rollback()
        repo.release_lease(s, "sync", 1)
        s.commit()
        assert (
            repo.acquire_lease(s, "sync", 2, td(minutes=10), holder="h:2") is None
        )  # free, not taken over
        s.commit()


def test_a_lease_nobody_renews_is_taken_over(db: Database) -> None:
    from datetime import timedelta as td

    from state.models import LeaseRow

    with db.session() as s:
        repo.acquire_lease(s, "sync", 1, td(minutes=10), holder="h:1")
        s.commit()
        lease = s.get(LeaseRow, "sync")
        assert lease is not None
        lease.heartbeat_at = lease.heartbeat_at - td(minutes=11)
        s.commit()
        assert repo.acquire_lease(s, "sync", 2, td(minutes=10), holder="h:2") == 1
        s.commit()
        repo.renew_lease(s, "sync", 1)  # the old holder cannot renew what it lost
        s.commit()
        s.refresh(lease)
        assert lease.run_id == 2


def test_a_lease_whose_holder_is_gone_is_taken_over_at_once(db: Database) -> None:
    from datetime import timedelta as td

    with db.session() as s:
        repo.acquire_lease(s, "sync", 1, td(minutes=10), holder="h:1")
        s.commit()
        with pytest.raises(repo.LeaseHeld):
            repo.acquire_lease(
                s, "sync", 2, td(minutes=10), holder="h:2", holder_gone=lambda holder: False
            )
        s.rollback()
        taken = repo.acquire_lease(
            s, "sync", 2, td(minutes=10), holder="h:2", holder_gone=lambda holder: holder == "h:1"
        )
        assert taken == 1


def test_only_local_dead_processes_count_as_gone() -> None:
    import socket
    import subprocess
    import sys

    from flows.context import process_gone, this_process

    assert not process_gone(this_process())
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = child.stdout.strip()
    here = this_process().rpartition(":")[0]
    assert process_gone(f"{here}:{dead}")
    assert not process_gone(f"elsewhere.example/pid:[1]:{dead}")  # another host
    assert not process_gone(f"{socket.gethostname()}/pid:[0]:{dead}")  # another container
