"""Client-side pacing: stay under vendor limits instead of provoking 429s.

`WindowBudget` keeps request starts under a vendor's rolling-window quota
("at most N requests in any T seconds"), built on aiolimiter's leaky bucket.
A leaky bucket that may burst its whole capacity lets through up to twice its
capacity in one rolling window (a full burst, then a full refill), so the
bucket here holds a single request and leaks at `calls / (period + slack)`:
requests leave evenly spaced, and even when the network bunches them up by
`slack_s` on the way, the server never counts more than `calls` in a window.

`ConnectionCap` bounds simultaneous requests (Mailchimp's connection cap).

Both serve one event loop at a time. A client reused from a later loop (each
`asyncio.run`, or a Prefect task with its own loop) gets fresh primitives,
and the budget carries its last start over so the switch cannot burst.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType

from aiolimiter import AsyncLimiter


class WindowBudget:
    """At most `calls` request starts in any rolling `period_s`; `calls=0` is unlimited.

    `pause(seconds)` holds every caller (after a 429, or when the vendor's
    headers say the budget is nearly spent by someone else); `resize(calls)`
    follows a quota the vendor reports.
    """

    def __init__(self, calls: int, period_s: float, *, slack_s: float = 0.0) -> None:
        if calls < 0 or period_s < 0 or slack_s < 0:
            raise ValueError("calls, period_s and slack_s must not be negative")
        self.period_s = period_s
        self.slack_s = slack_s
        self._lock = threading.Lock()
        self._calls = calls
        self._limiter: AsyncLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_start = float("-inf")
        self._paused_until = 0.0

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def unlimited(self) -> bool:
        return self._calls == 0 or self.period_s == 0

    @property
    def spacing_s(self) -> float:
        """Seconds between two request starts."""
        return 0.0 if self.unlimited else (self.period_s + self.slack_s) / self._calls

    @property
    def paused_until(self) -> float:
        """`time.monotonic()` instant before which nobody starts (0 when never paused)."""
        return self._paused_until

    def resize(self, calls: int) -> None:
        """Change the quota; callers already waiting finish at the old pace."""
        if calls < 0:
            raise ValueError("calls must not be negative")
        with self._lock:
            if calls != self._calls:
                self._calls = calls
                self._limiter = None

    def pause(self, seconds: float) -> None:
        """Let nobody start for `seconds` from now (a longer pause already set stands)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + max(seconds, 0.0))

    async def acquire(self) -> None:
        """Wait until one more request may start."""
        while True:
            wait = self._paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.unlimited:
                return
            await self._bucket().acquire()
            with self._lock:
                self._last_start = time.monotonic()
                if self._paused_until <= self._last_start:
                    return
            # A pause began while we queued: honour it before going.

    def _bucket(self) -> AsyncLimiter:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._limiter is None or self._loop is not loop:
                self._limiter = AsyncLimiter(1, self.spacing_s)
                self._loop = loop
                # A fresh bucket starts empty: keep the spacing from the last start.
                self._paused_until = max(self._paused_until, self._last_start + self.spacing_s)
            return self._limiter


class ConnectionCap:
    """At most `limit` requests in flight at once; `limit=0` is unlimited."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self.limit = limit
        self._lock = threading.Lock()
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.in_flight = 0

    def _sem(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._semaphore is None or self._loop is not loop:
                self._semaphore = asyncio.Semaphore(self.limit)
                self._loop = loop
            return self._semaphore

    async def __aenter__(self) -> None:
        if self.limit:
            await self._sem().acquire()
        self.in_flight += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.in_flight -= 1
        if self.limit and self._semaphore is not None:
            self._semaphore.release()
