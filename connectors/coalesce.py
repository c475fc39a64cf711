"""One batch call shared by concurrent callers.

A write batch of 100 contacts may carry a dozen withdrawals, which go out
through their own batch endpoint (up to 100 a call). Sent per write batch,
that is one extra call per batch; pooled across the batches in flight, one
per 100 withdrawals.

A caller announces itself (`expect`) as soon as it knows it will have items,
does its other work, then submits and waits for its own results. A batch
leaves when it is full, or when every announced caller has submitted (nobody
is about to add to it) and none has come for `linger_s`, so no item waits on
a caller that is not coming, and writes claimed a moment apart still share.
Results come back only after the call, so a caller reports an outcome only
once it has really happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
SendBatch = Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]


class Coalescer(Generic[Item, Result]):
    """Pools items from concurrent callers (of one event loop) into batches of `size`."""

    def __init__(self, size: int, send: SendBatch[Item, Result], linger_s: float = 0.0) -> None:
        if size <= 0:
            raise ValueError("size must be positive")
        self.size = size
        self.linger_s = linger_s
        self._timer: asyncio.TimerHandle | None = None
        self._send = send
        self._expected = 0
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def expect(self) -> Ticket[Item, Result]:
        """Announce a caller that will submit (or close its ticket unused)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop and not self._queue and self._expected == 0:
            self._loop = loop  # a client reused from another loop starts afresh
        shared = self._loop is loop
        if shared:
            self._expected += 1
        return Ticket(self, shared)

    async def _submit(self, items: Sequence[Item], shared: bool) -> list[Result]:
        if not shared:
            return await self._direct(items)
        self._expected -= 1
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        self._queue.extend(zip(items, futures, strict=True))
        self._flush()
        return list(await asyncio.gather(*futures))

    def _withdraw(self) -> None:
        self._expected -= 1
        self._flush()

    def _flush(self, lingered: bool = False) -> None:
        while len(self._queue) >= self.size:
            self._send_next()
        if not self._queue or self._expected > 0:
            return
        if lingered or self.linger_s <= 0:
            self._send_next()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.linger_s, self._linger_over)

    def _linger_over(self) -> None:
        self._timer = None
        self._flush(lingered=True)

    def _send_next(self) -> None:
        chunk, self._queue = self._queue[: self.size], self._queue[self.size :]
        task = asyncio.ensure_future(self._deliver(chunk))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _deliver(self, chunk: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._send([item for item, _ in chunk])
        except BaseException as exc:  # each waiting caller gets the failure as its own
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(chunk, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _direct(self, items: Sequence[Item]) -> list[Result]:
        results: list[Result] = []
        for start in range(0, len(items), self.size):
            results += await self._send(items[start : start + self.size])
        return results


class Ticket(Generic[Item, Result]):
    """One announced caller's place: submit once, or close unused (always close)."""

    def __init__(self, pool: Coalescer[Item, Result], shared: bool) -> None:
        self._pool = pool
        self._shared = shared
        self._open = True

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """The results for `items`, in order, once the batch that carried them is back."""
        if not self._open:
            raise RuntimeError("a ticket submits once")
        self._open = False
        if not items:
            if self._shared:
                self._pool._withdraw()
            return []
        return await self._pool._submit(items, self._shared)

    def close(self) -> None:
        """Give the place up if it was never used, so nobody waits for it."""
        if self._open:
            self._open = False
            if self._shared:
                self._pool._withdraw()
