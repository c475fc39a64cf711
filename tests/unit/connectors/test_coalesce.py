"""Concurrent callers share batch calls, and nobody waits for a caller that is not coming."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from connectors.coalesce import Coalescer


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def send(self, items: Sequence[str]) -> list[str]:
        await asyncio.sleep(0)
        self.calls.append(list(items))
        if self.fail:
            raise RuntimeError("refused")
        return [item.upper() for item in items]


async def caller(pool: Coalescer[str, str], items: list[str], work_s: float) -> list[str]:
    ticket = pool.expect()
    try:
        await asyncio.sleep(work_s)  # the caller's own request, before it has items
        return await ticket.submit(items)
    finally:
        ticket.close()


async def test_callers_in_flight_together_share_one_call() -> None:
    sent = Recorder()
    pool: Coalescer[str, str] = Coalescer(10, sent.send)
    a, b, c = await asyncio.gather(
        caller(pool, ["a1", "a2"], 0.01),
        caller(pool, ["b1"], 0.03),
        caller(pool, ["c1", "c2", "c3"], 0.02),
    )
    assert (a, b, c) == (["A1", "A2"], ["B1"], ["C1", "C2", "C3"])
    assert len(sent.calls) == 1
    assert sorted(sent.calls[0]) == ["a1", "a2", "b1", "c1", "c2", "c3"]


async def test_a_full_batch_leaves_without_waiting() -> None:
    sent = Recorder()
    pool: Coalescer[str, str] = Coalescer(2, sent.send)
    slow = asyncio.ensure_future(caller(pool, ["s"], 0.2))
    fast = asyncio.ensure_future(caller(pool, ["f1", "f2", "f3"], 0))
    await asyncio.sleep(0.05)
    assert sent.calls == [["f1", "f2"]]  # full: gone before the slow caller submits
    assert not fast.done()  # its third item waits for company
    assert await fast == ["F1", "F2", "F3"]
    assert await slow == ["S"]
    assert sorted(sent.calls[1]) == ["f3", "s"]


async def test_a_caller_that_ends_without_items_does_not_hold_the_others() -> None:
    sent = Recorder()
    pool: Coalescer[str, str] = Coalescer(10, sent.send)

    async def gives_up() -> None:
        ticket = pool.expect()
        try:
            await asyncio.sleep(0.01)
            raise ValueError("its own request failed")
        finally:
            ticket.close()

    results = await asyncio.wait_for(
        asyncio.gather(caller(pool, ["x"], 0), gives_up(), return_exceptions=True), timeout=1
    )
    assert results[0] == ["X"]
    assert isinstance(results[1], ValueError)


async def test_a_failed_call_fails_every_caller_in_it() -> None:
    pool: Coalescer[str, str] = Coalescer(10, Recorder(fail=True).send)
    results = await asyncio.gather(
        caller(pool, ["a"], 0), caller(pool, ["b"], 0.01), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Coalescer(0, Recorder().send)


async def test_a_part_filled_batch_waits_a_moment_for_the_next_caller() -> None:
    sent = Recorder()
    pool: Coalescer[str, str] = Coalescer(10, sent.send, linger_s=0.3)

    async def later() -> list[str]:
        await asyncio.sleep(0.1)  # announced only after the first caller submitted
        return await caller(pool, ["b"], 0)

    assert await asyncio.gather(caller(pool, ["a"], 0), later()) == [["A"], ["B"]]
    assert [sorted(call) for call in sent.calls] == [["a", "b"]]
