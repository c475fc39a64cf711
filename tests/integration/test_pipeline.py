"""A run pulls both systems at once, a page ahead, and pushes while it pulls, but never
sends a write the pull of its system could still contradict (over real HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connectors.contract import Page, WriteOp
from flows.context import SyncContext
from flows.pull import apply_page, fetch_page
from flows.push import push_batch
from flows.report import RunReport
from flows.run import Steps, close_connectors, open_context, sync_once
from flows.settings import Settings
from tests.integration.conftest import make_connectors
from tests.integration.vendors import Vendors


@dataclass
class Timeline:
    """What the steps did, in the order they did it."""

    events: list[tuple[str, str, str]] = field(default_factory=list)

    def index(self, kind: str, system: str, detail: str | None = None) -> list[int]:
        return [
            i
            for i, (k, s, d) in enumerate(self.events)
            if k == kind and s == system and (detail is None or d == detail)
        ]

    def steps(self) -> Steps:
        async def fetch(
            ctx: SyncContext, system: str, since: datetime | None, token: str | None
        ) -> Page:
            self.events.append(("fetch", system, token or "first"))
            if system == "hubspot":
                await asyncio.sleep(0.05)  # a slower CRM: its pull outlasts the other's
            page = await fetch_page(ctx, system, since, token)
            self.events.append(("fetched", system, page.next_token or "last"))
            return page

        async def apply(ctx: SyncContext, system: str, page: Page) -> None:
            self.events.append(("apply", system, page.next_token or "last"))
            await apply_page(ctx, system, page)
            self.events.append(("applied", system, page.next_token or "last"))

        async def push(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
            kinds = {"create" if op.external_id is None else "update" for op in ops}
            assert len(kinds) == 1, "a batch holds creates only or updates only"
            self.events.append(("push", system, kinds.pop()))
            await push_batch(ctx, system, ops)

        return Steps(fetch=fetch, apply=apply, push=push)


def run(settings: Settings, steps: Steps) -> RunReport:
    async def go() -> RunReport:
        connectors = make_connectors(settings)
        connectors["hubspot"].page_size = 5
        for connector in connectors.values():
            connector.write_batch_size = 3
        ctx = open_context(settings, connectors=connectors)
        try:
            return await sync_once(ctx, steps)
        finally:
            await close_connectors(ctx)
            ctx.db.dispose()

    return asyncio.run(go())


def test_first_sync_overlaps_pulls_and_pushes_but_creates_wait_for_the_pull(
    settings: Settings, vendors: Vendors
) -> None:
    timeline = Timeline()
    report = run(settings, timeline.steps())
    events = timeline
    hs_done = events.index("applied", "hubspot", "last")[0]
    mc_done = events.index("applied", "mailchimp", "last")[0]

    # Both systems are pulled at once.
    assert events.index("fetch", "mailchimp", "first")[0] < hs_done
    # The next CRM page is on its way while the current one is applied.
    fetches = events.index("fetch", "hubspot")
    applied = events.index("applied", "hubspot")
    assert len(fetches) >= 4
    assert any(f < a for f, a in zip(fetches[1:], applied, strict=False))
    # Updates of records already pulled go out while the CRM is still being pulled...
    assert events.index("push", "hubspot", "update")[0] < hs_done
    # ...creates only once the system's own pull is done: a later page may hold the record.
    assert min(events.index("push", "hubspot", "create")) > hs_done
    assert min(events.index("push", "mailchimp", "create")) > mc_done
    assert report.of("hubspot").created == vendors.config.mailchimp_only
    assert not report.errors

    vendors.reset_stats()
    assert run(settings, Steps()).writes == 0


def test_a_copy_equal_to_what_was_synced_plans_nothing_again(settings: Settings) -> None:
    from datetime import UTC

    from sqlalchemy import event

    from connectors.contract import RawRecord
    from flows.ingest import apply_records
    from state.database import Database

    db = Database(settings.database_url)
    ctx = open_context(settings, connectors=make_connectors(settings), db=db)
    record = RawRecord(
        "hubspot",
        "901",
        "ada@example.org",
        datetime(2026, 11, 30, tzinfo=UTC),
        {"email": "ada@example.org", "firstname": "Ada", "lastname": "Lovelace"},
    )
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        for copy in (1, 2):
            statements.clear()
            with db.session() as s:
                apply_records(ctx, s, "hubspot", [record])
                s.commit()
            planned = [q for q in statements if q.lstrip().upper().startswith("DELETE FROM OUTBOX")]
            if copy == 1:
                assert planned, "the first copy plans the contact's writes"
        # The second copy equals the shadow: the contact's plans are left as they are.
        assert planned == []
    finally:
        asyncio.run(close_connectors(ctx))
        db.dispose()
