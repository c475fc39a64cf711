"""Benchmark: 10,000 contacts per side through the sandbox over loopback HTTP.

Reports API calls against the minimum at the largest page and batch sizes,
wall time and peak memory of the syncing process; results go to
`benchmark-results/sync.json`. Run with `make bench`.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxConfig

pytestmark = pytest.mark.benchmark
RESULTS = Path("benchmark-results")
PAGE = {"hubspot": 200, "mailchimp": 1000}
BATCH = {"hubspot": 100, "mailchimp": 500}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def minimum_calls(systems: dict[str, dict[str, int]], records_per_side: int) -> int:
    """Calls needed at the largest page and batch sizes for what this run did."""
    total = 0
    for name, counts in systems.items():
        total += max(1, math.ceil(records_per_side / PAGE[name]))
        total += math.ceil(counts["created"] / BATCH[name])
        total += math.ceil(counts["updated"] / BATCH[name])
    return total


def run_sync(env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "tests/benchmarks/sync_once.py"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("per_side", [2_000, 10_000])
def test_sync_at_scale(per_side: int, tmp_path: Path) -> None:
    half = per_side // 2
    config = SandboxConfig(
        seed=3,
        overlap=half,
        hubspot_only=per_side - half,
        mailchimp_only=per_side - half,
        invalid_emails=0,
        missing_emails=0,
    )
    port = free_port()
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "sandbox",
            "--port",
            str(port),
            "--seed",
            "3",
            "--overlap",
            str(config.overlap),
            "--hubspot-only",
            str(config.hubspot_only),
            "--mailchimp-only",
            str(config.mailchimp_only),
            "--invalid-emails",
            "0",
            "--missing-emails",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/_sandbox/stats", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(
            {
                "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'bench.db'}",
                "BATON_HUBSPOT_BASE_URL": url,
                "BATON_HUBSPOT_TOKEN": config.hubspot_token,
                "BATON_MAILCHIMP_BASE_URL": f"{url}/3.0",
                "BATON_MAILCHIMP_API_KEY": config.mailchimp_api_key,
                "BATON_MAILCHIMP_LIST_ID": config.list_id,
            }
        )
        first = run_sync(env)
        second = run_sync(env)
        stats = httpx.get(f"{url}/_sandbox/stats", timeout=10).json()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)

    systems = first["report"]["systems"]
    made = sum(sum(calls.values()) for calls in first["calls"].values())
    # Withdrawals go through their own endpoint, 100 a call at best.
    minimum = minimum_calls(systems, per_side) + math.ceil(first["withdrawals"] / 100)
    result = {
        "contacts_per_side": per_side,
        "first_sync": {
            "api_calls": made,
            "minimum_calls": minimum,
            "ratio": round(made / minimum, 3),
            "wall_s": round(first["wall_s"], 2),
            "peak_rss_mb": round(first["peak_rss_mb"], 1),
            "calls": first["calls"],
            "counts": systems,
        },
        "second_sync": {
            "api_calls": sum(sum(c.values()) for c in second["calls"].values()),
            "writes": sum(
                c["created"] + c["updated"] for c in second["report"]["systems"].values()
            ),
            "wall_s": round(second["wall_s"], 2),
            "peak_rss_mb": round(second["peak_rss_mb"], 1),
        },
        "sandbox_records": stats["records"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"sync-{per_side}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))

    assert stats["records"] == {
        "hubspot": per_side + (per_side - half),
        "mailchimp": per_side + (per_side - half),
    }
    assert made <= 1.1 * minimum
    assert result["second_sync"]["writes"] == 0
