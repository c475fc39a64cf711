"""Pull: fetch a page and take its records in (`flows.ingest`), in one
transaction per page."""

from __future__ import annotations

from datetime import datetime

from connectors.contract import Page
from flows.context import SyncContext, keep_lease
from flows.ingest import apply_records

__all__ = ["apply_records", "pull_page"]


async def pull_page(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> str | None:
    """Fetch one page and apply it in one transaction; returns the next token."""
    page: Page = await ctx.connectors[system].fetch_page(since, token)
    with ctx.db.session() as s:
        apply_records(ctx, s, system, page.records)
        keep_lease(ctx, s)
        s.commit()
    return page.next_token
