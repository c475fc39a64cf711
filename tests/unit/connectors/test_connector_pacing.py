"""Client-side pacing: sliding-window budget and cross-loop concurrency cap."""

from __future__ import annotations

import asyncio
import threading

from connectors.pacing import ConcurrencyCap, RateBudget


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_budget_allows_max_calls_per_window_then_waits() -> None:
    t = FakeTime()
    budget = RateBudget(3, 10.0, clock=t.clock, sleep=t.sleep)
    starts = []
    for _ in range(7):
        await budget.acquire()
        starts.append(t.now)
    assert starts == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0]
    # No window of 10 s ever holds more than 3 starts.
    for s in starts:
        assert sum(1 for x in starts if s <= x < s + 10.0) <= 3


async def test_budget_sliding_window_frees_slots_as_they_age() -> None:
    t = FakeTime()
    budget = RateBudget(2, 1.0, clock=t.clock, sleep=t.sleep)
    await budget.acquire()
    t.now = 0.6
    await budget.acquire()
    await budget.acquire()  # waits until the first call (t=0) leaves the window
    assert t.now == 1.0


async def test_zero_budget_is_unlimited() -> None:
    t = FakeTime()
    budget = RateBudget(0, 10.0, clock=t.clock, sleep=t.sleep)
    for _ in range(1000):
        await budget.acquire()
    assert t.sleeps == []


def test_budget_shared_across_event_loops() -> None:
    budget = RateBudget(2, 0.2)

    async def burst() -> None:
        for _ in range(2):
            await budget.acquire()

    asyncio.run(burst())
    loop = asyncio.new_event_loop()
    try:
        started = loop.time()
        loop.run_until_complete(budget.acquire())
        assert loop.time() - started >= 0.1  # the first loop's calls still count
    finally:
        loop.close()


async def test_concurrency_cap_bounds_in_flight() -> None:
    cap = ConcurrencyCap(3)
    peak = 0
    current = 0

    async def work() -> None:
        nonlocal peak, current
        async with cap:
            current += 1
            peak = max(peak, current)
            await asyncio.sleep(0.01)
            current -= 1

    await asyncio.gather(*(work() for _ in range(20)))
    assert peak == 3
    assert cap.in_flight == 0


def test_concurrency_cap_across_threads_and_loops() -> None:
    cap = ConcurrencyCap(2)
    lock = threading.Lock()
    state = {"current": 0, "peak": 0}

    async def work() -> None:
        async with cap:
            with lock:
                state["current"] += 1
                state["peak"] = max(state["peak"], state["current"])
            await asyncio.sleep(0.01)
            with lock:
                state["current"] -= 1

    async def many() -> None:
        await asyncio.gather(*(work() for _ in range(6)))

    threads = [threading.Thread(target=asyncio.run, args=(many(),)) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(5)
    assert state["peak"] <= 2
    assert cap.in_flight == 0
