"""Pull: fetch a page, then take its records in (`flows.ingest`) in one transaction.

Fetching and applying are separate steps so a run can fetch the next page
while the current one is applied (`flows.pipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connectors.contract import Page, RawRecord
from flows.context import SyncContext, in_db, keep_lease
from flows.ingest import apply_records

__all__ = ["apply_page", "apply_records", "fetch_page", "pull_page"]


async def fetch_page(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> Page:
    """One page of the system's records changed since `since`, from `token`."""
    return await ctx.connectors[system].fetch_page(since, token)


async def apply_page(ctx: SyncContext, system: str, page: Page) -> None:
    """Take a fetched page in: its records, contacts, links and planned writes in one
    transaction, with the lease renewed in it."""
    await in_db(ctx, _apply, ctx, system, page.records)


def _apply(ctx: SyncContext, system: str, records: Sequence[RawRecord]) -> None:
    with ctx.db.session() as s:
        apply_records(ctx, s, system, records)
        keep_lease(ctx, s)
        s.commit()


async def pull_page(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> str | None:
    """Fetch one page and apply it; returns the next token."""
    page = await fetch_page(ctx, system, since, token)
    await apply_page(ctx, system, page)
    return page.next_token
