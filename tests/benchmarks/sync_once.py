"""Run one sync in its own process and print its report as JSON.

Used by the benchmarks so peak memory is Baton's alone (the sandbox runs in
another process).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from flows.run import close_connectors, open_context, sync_once
from flows.settings import Settings


async def main() -> dict[str, object]:
    ctx = open_context(Settings())
    try:
        started = time.perf_counter()
        report = await sync_once(ctx)
        wall = time.perf_counter() - started
    finally:
        await close_connectors(ctx)
    calls = {name: dict(c.stats.calls) for name, c in ctx.connectors.items()}
    return {
        "report": report.as_dict(),
        "wall_s": wall,
        "calls": calls,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
