"""`sync --dry-run` over real HTTP: zero write calls, nothing kept but the run record, and
exactly the writes the next real run then sends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import func, select

from connectors.contract import WriteOp
from flows.context import SyncContext
from flows.dry_run import WritePlan, dry_run
from flows.push import push_batch
from flows.run import Steps, close_connectors, open_context
from flows.settings import Settings
from state.database import Database
from state.models import ContactRow, CursorRow, DeadLetterRow, LinkRow, OutboxRow, SyncRunRow
from tests.integration.conftest import make_connectors
from tests.integration.vendors import Runner, Vendors

Write = tuple[str, str, str, str | None, tuple[tuple[str, str], ...]]


def _key(system: str, email: str, external_id: str | None, fields: object) -> Write:
    assert isinstance(fields, dict)
    kind = "create" if external_id is None else "update"
    items = tuple(sorted((k, repr(v)) for k, v in fields.items()))
    return (system, kind, email.strip().lower(), external_id, items)


def _plan(settings: Settings) -> WritePlan:
    async def go() -> WritePlan:
        ctx = open_context(settings, connectors=make_connectors(settings))
        try:
            return await dry_run(ctx)
        finally:
            await close_connectors(ctx)
            ctx.db.dispose()

    return asyncio.run(go())


def _stored(settings: Settings) -> dict[str, int]:
    db = Database(settings.database_url)
    with db.session() as s:
        counts = {
            table.__tablename__: s.scalar(select(func.count()).select_from(table)) or 0
            for table in (ContactRow, LinkRow, OutboxRow, CursorRow, DeadLetterRow, SyncRunRow)
        }
    db.dispose()
    return counts


def _recording(sent: list[Write]) -> Steps:
    async def push(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
        sent.extend(_key(system, op.email, op.external_id, dict(op.fields)) for op in ops)
        await push_batch(ctx, system, ops)

    return Steps(push=push)


def test_dry_run_writes_nothing_and_plans_what_the_real_run_sends(
    settings: Settings, run_sync: Runner, vendors: Vendors
) -> None:
    members_before = vendors.members()
    vendors.reset_stats()

    plan = _plan(settings)

    stats = vendors.stats()
    assert stats["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert vendors.members() == members_before
    counts = plan.counts()
    assert counts["hubspot"]["create"] > 0 and counts["mailchimp"]["create"] > 0
    assert counts["mailchimp"]["update"] > 0  # people in both systems
    stored = _stored(settings)
    assert stored.pop("sync_runs") == 1
    assert stored == {"contacts": 0, "links": 0, "outbox": 0, "cursors": 0, "dead_letters": 0}

    sent: list[Write] = []
    report = run_sync(_recording(sent))
    planned = [_key(w.system, w.email, w.external_id, dict(w.fields)) for w in plan.writes]
    assert sorted(sent) == sorted(planned)
    for system, kinds in counts.items():
        real = report.of(system)
        # Every planned write went out; the ones a vendor refused became dead letters.
        assert kinds["create"] + kinds["update"] == sum(1 for w in sent if w[0] == system)
        assert real.created + real.updated <= kinds["create"] + kinds["update"]


def test_after_a_sync_the_dry_run_plans_exactly_the_next_change(
    settings: Settings, run_sync: Runner, vendors: Vendors
) -> None:
    run_sync()
    run_sync()
    member = next(m for m in vendors.members() if m["status"] == "subscribed")
    with vendors.mailchimp as client:
        client.patch(
            f"/lists/{vendors.config.list_id}/members/{member['id']}",
            json={"merge_fields": {"FNAME": "Renamed"}},
        ).raise_for_status()
    before = _stored(settings)
    vendors.reset_stats()

    plan = _plan(settings)

    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert plan.counts() == {
        "hubspot": {"create": 0, "update": 1},
        "mailchimp": {"create": 0, "update": 0},
    }
    assert [dict(w.fields) for w in plan.writes] == [{"firstname": "Renamed"}]
    after = _stored(settings)
    assert after.pop("sync_runs") == before.pop("sync_runs") + 1
    assert after == before

    sent: list[Write] = []
    report = run_sync(_recording(sent))
    assert report.of("hubspot").updated == 1
    assert sent == [_key(w.system, w.email, w.external_id, dict(w.fields)) for w in plan.writes]
