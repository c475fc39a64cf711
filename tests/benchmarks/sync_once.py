"""Run one sync in its own process and print its report as JSON.

Used by the benchmarks so peak memory is Baton's alone (the sandbox runs in
another process).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import threading
import time
from typing import Any

from connectors.contract import Page
from flows.pull import apply_page
from flows.push import push_batch
from flows.run import Steps, close_connectors, open_context, sync_once
from flows.settings import Settings


class TimedLock:
    """The run's database lock, timing how long database work holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.held_s = 0.0
        self._since = 0.0

    def __enter__(self) -> None:
        self._lock.acquire()
        self._since = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.held_s += time.perf_counter() - self._since
        self._lock.release()


def timed_steps(marks: dict[str, float], started: list[float]) -> Steps:
    """The plain steps, noting when each system's pull and pushes end (seconds from start)."""

    async def apply(ctx: Any, system: str, page: Page) -> None:
        await apply_page(ctx, system, page)
        if page.next_token is None:
            marks[f"{system}_pulled_s"] = round(time.perf_counter() - started[0], 2)

    async def push(ctx: Any, system: str, ops: Any) -> None:
        await push_batch(ctx, system, ops)
        marks[f"{system}_pushed_s"] = round(time.perf_counter() - started[0], 2)

    return Steps(apply=apply, push=push)


async def main() -> dict[str, object]:
    ctx = open_context(Settings())
    withdrawals = count_withdrawals(ctx.connectors["hubspot"])
    lock = TimedLock()
    ctx.db_lock = lock  # type: ignore[assignment]
    marks: dict[str, float] = {}
    started = [time.perf_counter()]
    try:
        started[0], cpu_started = time.perf_counter(), time.process_time()
        report = await sync_once(ctx, timed_steps(marks, started))
        wall, cpu = time.perf_counter() - started[0], time.process_time() - cpu_started
    finally:
        await close_connectors(ctx)
    calls = {name: dict(c.stats.calls) for name, c in ctx.connectors.items()}
    return {
        "report": report.as_dict(),
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": calls,
        "withdrawals": withdrawals[0],
        "db_held_s": round(lock.held_s, 2),
        "marks": marks,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def count_withdrawals(connector: Any) -> list[int]:
    """Count the opt-outs sent through communication preferences (for their floor)."""
    channel = connector.consent
    send, counted = channel._send, [0]

    async def counting(ops: Any, subscription: int) -> Any:
        counted[0] += len(ops)
        return await send(ops, subscription)

    channel._send = counting
    return counted


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
