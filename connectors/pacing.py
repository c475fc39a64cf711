"""Client-side pacing: stay under vendor limits instead of provoking 429s.

`RateBudget` is a sliding-window limiter (at most `max_calls` starts in any
`period_s` window); `ConcurrencyCap` bounds how many requests are in flight.

Both may be shared by code running on different event loops (each Prefect
task can run its own loop, possibly on its own thread), so neither binds an
asyncio primitive at construction: bookkeeping sits behind a `threading.Lock`
and all waiting happens outside it on whichever loop is running.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateBudget:
    """At most `max_calls` acquisitions per sliding `period_s`; `max_calls=0` is unlimited."""

    def __init__(
        self,
        max_calls: int,
        period_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_calls < 0 or period_s < 0:
            raise ValueError("max_calls and period_s must not be negative")
        self.max_calls = max_calls
        self.period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: deque[float] = deque()

    @property
    def unlimited(self) -> bool:
        return self.max_calls == 0 or self.period_s == 0

    async def acquire(self) -> None:
        """Wait until one more call fits in the window, then record it."""
        if self.unlimited:
            return
        while True:
            with self._lock:
                now = self._clock()
                horizon = now - self.period_s
                while self._starts and self._starts[0] <= horizon:
                    self._starts.popleft()
                if len(self._starts) < self.max_calls:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + self.period_s - now
            # Sleep outside the lock so other threads/loops can check in meanwhile.
            await self._sleep(max(wait, 0.0))


class ConcurrencyCap:
    """At most `limit` holders at once, across threads and event loops; `limit=0` is unlimited.

    Waiters park on a future of their own loop and are woken thread-safely on
    release. A short poll interval backs this up, so a wake-up lost to a
    cancelled waiter can never strand the others.
    """

    _POLL_S = 0.05

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self.limit = limit
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> None:
        if self.limit == 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._in_flight < self.limit:
                    self._in_flight += 1
                    return
                fut: asyncio.Future[None] = loop.create_future()
                entry = (loop, fut)
                self._waiters.append(entry)
            try:
                await asyncio.wait({fut}, timeout=self._POLL_S)
            finally:
                with self._lock:
                    if entry in self._waiters:
                        self._waiters.remove(entry)

    def release(self) -> None:
        if self.limit == 0:
            return
        with self._lock:
            self._in_flight = max(self._in_flight - 1, 0)
            while self._waiters:
                loop, fut = self._waiters.popleft()
                if loop.is_closed():
                    continue
                loop.call_soon_threadsafe(_resolve, fut)
                break

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
