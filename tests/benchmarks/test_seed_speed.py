"""Benchmark: seeding a 16,000-contact sandbox, so large benchmarks start quickly."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from sandbox.config import SandboxConfig
from sandbox.seed import build_seed

pytestmark = pytest.mark.benchmark


def test_seed_time_at_16k() -> None:
    started = time.perf_counter()
    seed = build_seed(
        SandboxConfig(overlap=4000, hubspot_only=6000, mailchimp_only=6000),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    seconds = time.perf_counter() - started
    print(f"\nseed: {len(seed.contacts)} contacts, {len(seed.members)} members in {seconds:.2f} s")
    assert len(seed.members) >= 10_000
