"""The pulls and pushes of one run, at once: every system is pulled while the others
are, and its writes go out while the run is still pulling.

- **Pulls** run side by side, each one page ahead: the next page is fetched while
  the current one is applied, so the network and the database overlap and memory
  holds at most two pages per system.
- **Drains** send a system's writes as soon as it is safe, with several batches in
  flight (the connector's quotas pace them). Before a system's own pull is done,
  only updates of records this run has already read from it go out: any other
  record there may hold a change that pull has not brought in yet, and a create
  may meet a record on a later page. Once its pull is done, everything may go.
  While any pull still plans writes only whole batches leave, so part-filled
  batches cost no calls the floor does not need.
- **The database is used by one unit of work at a time** (`flows.context.in_db`):
  a page is one transaction with its planned writes, a cursor moves only once
  its stream is committed, a batch is marked in flight (committed) before it is
  sent. A kill anywhere leaves what a kill between two steps of a sequential
  run would.
- A system whose pull or push fails (a `ConnectorError`) is set aside for the
  rest of the run, as before; the others go on. Anything else stops the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.contract import Page, WriteOp
from connectors.errors import ConnectorError
from flows.context import SyncContext, finish_stream, in_db, stream_since
from flows.pull import apply_page, fetch_page
from flows.push import Claim, claim_batch, push_batch

FetchStep = Callable[[SyncContext, str, datetime | None, str | None], Awaitable[Page]]
ApplyStep = Callable[[SyncContext, str, Page], Awaitable[None]]
PushStep = Callable[[SyncContext, str, Sequence[WriteOp]], Awaitable[None]]

# Batches of one system in flight at once: enough to keep a quota busy while
# responses travel and outcomes are recorded, few enough that a crash leaves
# little to settle.
BATCHES_IN_FLIGHT = 8


@dataclass(frozen=True)
class Steps:
    """The network-facing steps of a run (the Prefect flow passes them as tasks)."""

    fetch: FetchStep = fetch_page
    apply: ApplyStep = apply_page
    push: PushStep = push_batch


@dataclass
class _Progress:
    """What the pulls and drains of one run know of each other."""

    pulling: set[str]
    pushing: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def changed(self) -> None:
        """Wake every drain waiting for work (a page landed, a pull or batch ended)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """Take before looking for work, then wait on it: no wake-up is missed."""
        return self._changed


async def pull_and_push(ctx: SyncContext, steps: Steps) -> None:
    """Pull every system and drain every outbox, concurrently, until all is sent."""
    live = [system for system in ctx.systems if system not in ctx.report.errors]
    progress = _Progress(pulling=set(live))
    await _all_or_first_failure(
        [_pull(ctx, steps, progress, system) for system in live]
        + [_drain(ctx, steps, progress, system) for system in live]
    )


async def _pull(ctx: SyncContext, steps: Steps, progress: _Progress, system: str) -> None:
    try:
        await _set_aside_on_failure(ctx, system, lambda: _pull_stream(ctx, steps, progress, system))
    finally:
        progress.pulling.discard(system)
        progress.changed()


async def _pull_stream(ctx: SyncContext, steps: Steps, progress: _Progress, system: str) -> None:
    since = await in_db(ctx, stream_since, ctx, system)
    ahead: asyncio.Task[Page] | None = asyncio.ensure_future(steps.fetch(ctx, system, since, None))
    try:
        while ahead is not None:
            page = await ahead
            ahead = None
            if page.next_token is not None:
                ahead = asyncio.ensure_future(steps.fetch(ctx, system, since, page.next_token))
            await steps.apply(ctx, system, page)
            progress.changed()
            if system in ctx.report.errors:
                return  # set aside by its drain: the cursor stays where it was
    finally:
        if ahead is not None:
            ahead.cancel()
            with contextlib.suppress(BaseException):
                await ahead
    await in_db(ctx, finish_stream, ctx, system)


async def _drain(ctx: SyncContext, steps: Steps, progress: _Progress, system: str) -> None:
    """Claim and send the system's batches as they become safe, until the run has
    nothing left to plan and nothing left in flight."""
    in_flight: set[asyncio.Task[None]] = set()
    try:
        while system not in ctx.report.errors:
            for task in [t for t in in_flight if t.done()]:
                in_flight.discard(task)
                task.result()  # a failure other than the system's own stops the run
            wake = progress.waiter()
            if len(in_flight) < BATCHES_IN_FLIGHT:
                # Decide on one snapshot: the pulls may end while the claim runs.
                pulling, pushing = bool(progress.pulling), progress.pushing
                claim = Claim.LINKED_THIS_RUN if system in progress.pulling else Claim.ALL
                ops = await in_db(ctx, claim_batch, ctx, system, claim, whole=pulling)
                if ops:
                    progress.pushing += 1  # counted from the claim, before the task starts
                    in_flight.add(asyncio.ensure_future(_send(ctx, steps, progress, system, ops)))
                    continue
                if not pulling and pushing == 0:
                    break  # nothing planned any more, nothing that could plan more
            await _first_of([wake.wait(), *in_flight])
        if in_flight:
            await asyncio.gather(*in_flight)
    finally:
        for task in in_flight:
            task.cancel()


async def _send(
    ctx: SyncContext, steps: Steps, progress: _Progress, system: str, ops: Sequence[WriteOp]
) -> None:
    try:
        await _set_aside_on_failure(ctx, system, lambda: steps.push(ctx, system, ops))
    finally:
        progress.pushing -= 1
        progress.changed()


async def _set_aside_on_failure(
    ctx: SyncContext, system: str, step: Callable[[], Awaitable[None]]
) -> None:
    """Run a step of `system`; a connector failure sets the system aside, named in the report."""
    if system in ctx.report.errors:
        return
    try:
        await step()
    except ConnectorError as exc:
        ctx.report.errors.setdefault(system, str(exc))


async def _first_of(awaitables: Sequence[Awaitable[Any]]) -> None:
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Only the waiter is ours to cancel; batches run on in the drain's set.
        tasks[0].cancel()


async def _all_or_first_failure(steps: Sequence[Coroutine[Any, Any, None]]) -> None:
    """Run steps concurrently; the first failure cancels the rest and is raised as is."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
