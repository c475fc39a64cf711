"""A live one-line account of a run on a terminal; nothing at all anywhere else.

It watches the run through its steps (each page fetched and applied, each batch
pushed), so
the run itself knows nothing about it. Off a terminal (a pipe, a CI log, cron)
it prints nothing: the report at the end says it all once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType

from rich.console import Console
from rich.status import Status
from rich.text import Text

from connectors.contract import Page, WriteOp
from flows.context import SyncContext
from flows.run import Steps


class RunProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Status | None = None
        self.line = ""
        """What the display says now (empty off a terminal)."""

    @property
    def shown(self) -> bool:
        return self.console.is_terminal

    def __enter__(self) -> RunProgress:
        if self.shown:
            self._status = self.console.status("starting the run…")
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def steps(self, base: Steps | None = None) -> Steps:
        """`base` (the plain steps by default), telling this display after each step."""
        inner = base or Steps()

        async def fetch(
            ctx: SyncContext, system: str, since: datetime | None, token: str | None
        ) -> Page:
            page = await inner.fetch(ctx, system, since, token)
            self._show(ctx)
            return page

        async def apply(ctx: SyncContext, system: str, page: Page) -> None:
            await inner.apply(ctx, system, page)
            self._show(ctx)

        async def push(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
            await inner.push(ctx, system, ops)
            self._show(ctx)

        return Steps(fetch=fetch, apply=apply, push=push)

    def _show(self, ctx: SyncContext) -> None:
        if self._status is None:
            return
        counts = [
            f"{system}: {c.pulled:,} read, {c.created + c.updated:,} written, "
            f"{c.dead_lettered:,} dead"
            for system, c in ctx.report.systems.items()
        ]
        self.line = f"run {ctx.run_id}: {' · '.join(counts)}"
        self._status.update(Text(self.line))
