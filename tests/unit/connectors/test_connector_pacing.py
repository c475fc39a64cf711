"""Client-side pacing: the rolling-window budget (aiolimiter) and the connection cap.

The budget's promise is a lower bound on spacing, so the assertions below are
about counts of recorded start times, never about how long something took.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.hubspot_quota import HubSpotQuota, HubSpotTier, share_of
from connectors.pacing import ConnectionCap, WindowBudget


def most_in_any_window(starts: list[float], window: float) -> int:
    """The largest number of starts inside one half-open window (t - window, t]."""
    starts = sorted(starts)
    best = 0
    first = 0
    for last, moment in enumerate(starts):
        while starts[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


async def record_starts(budget: WindowBudget, n: int, *, tasks: int = 4) -> list[float]:
    starts: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            await budget.acquire()
            starts.append(time.monotonic())

    await asyncio.gather(*(worker(n // tasks) for _ in range(tasks)))
    return starts


async def test_budget_never_exceeds_its_calls_in_any_rolling_window() -> None:
    # A plain leaky bucket of 5 would let 10 through in one window (burst, then refill).
    budget = WindowBudget(5, 0.2, slack_s=0.02)
    starts = await record_starts(budget, 24)
    assert len(starts) == 24
    assert most_in_any_window(starts, 0.2) <= 5
    # Even when the network bunches them by the slack, the server still counts at most 5.
    assert most_in_any_window(starts, 0.2 + 0.02) <= 5


async def test_pause_holds_every_caller() -> None:
    budget = WindowBudget(100, 0.01)
    await budget.acquire()
    budget.pause(0.1)
    paused_at = time.monotonic()
    starts = await record_starts(budget, 4)
    assert min(starts) >= paused_at + 0.1 - 0.005


async def test_unlimited_budget_never_waits_for_a_slot() -> None:
    budget = WindowBudget(0, 10.0)
    for _ in range(1000):
        await budget.acquire()
    assert budget.unlimited


def test_budget_keeps_its_spacing_across_event_loops() -> None:
    # Each asyncio.run is a new loop (as each Prefect task may be); a switch must not burst.
    budget = WindowBudget(2, 0.2)
    starts: list[float] = []

    async def one() -> None:
        await budget.acquire()
        starts.append(time.monotonic())

    for _ in range(5):
        asyncio.run(one())
    assert most_in_any_window(starts, 0.2) <= 2


def test_budget_rejects_negative_settings() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        WindowBudget(-1, 10.0)


async def test_connection_cap_bounds_in_flight() -> None:
    cap = ConnectionCap(3)
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


def test_connection_cap_serves_a_later_event_loop() -> None:
    cap = ConnectionCap(1)

    async def twice() -> int:
        async with cap:
            pass
        async with cap:
            return cap.in_flight

    assert asyncio.run(twice()) == 1
    assert asyncio.run(twice()) == 1
    assert cap.in_flight == 0


# -- HubSpot quota ---------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "calls"),
    [
        (HubSpotTier.FREE, 100),
        (HubSpotTier.STARTER, 100),
        (HubSpotTier.PROFESSIONAL, 190),
        (HubSpotTier.ENTERPRISE, 190),
        (HubSpotTier.API_ADD_ON, 250),
    ],
)
def test_tier_sizes_the_ten_second_budget(tier: HubSpotTier, calls: int) -> None:
    quota = HubSpotQuota(tier)
    assert (quota.burst.calls, quota.burst.period_s) == (calls, 10.0)
    assert (quota.search.calls, quota.search.period_s) == (5, 1.0)


def test_share_leaves_headroom_for_other_apps() -> None:
    quota = HubSpotQuota(HubSpotTier.PROFESSIONAL, share=0.5)
    assert quota.burst.calls == 95
    assert quota.search.calls == 2
    assert share_of(100, 0.001) == 1
    with pytest.raises(ValueError, match="share"):
        HubSpotQuota(share=0)


def test_max_header_resizes_the_budget() -> None:
    quota = HubSpotQuota(HubSpotTier.STARTER, share=0.8)
    quota.observe(
        {
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "150",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
    )
    assert quota.portal_max == 190
    assert quota.burst.calls == 152


def test_daily_or_foreign_windows_are_ignored() -> None:
    quota = HubSpotQuota()
    quota.observe(
        {
            "X-HubSpot-RateLimit-Max": "250000",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "86400000",
        }
    )
    quota.observe({"X-HubSpot-RateLimit-Max": "garbage"})
    quota.observe({})
    assert quota.burst.calls == 100


async def test_low_remaining_pauses_for_the_slots_others_need() -> None:
    quota = HubSpotQuota(HubSpotTier.STARTER, share=0.9)  # others keep 10 of 100
    quota.observe({"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "50"})
    assert quota.burst.paused_until == 0.0  # plenty left: no pause
    before = time.monotonic()
    quota.observe({"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "8"})
    # 3 slots short of the others' 10: wait about 3 slots' worth of the window.
    assert quota.burst.paused_until >= before + 0.3
