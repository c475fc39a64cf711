"""Shared machinery of the sync benchmarks: a sandbox in its own process, a sync in its
own process, edits through the vendors' APIs, and the floors a run is measured against.

Floors:
- **API calls**: what the run needed at the vendors' largest page and batch sizes (HubSpot
  search 200 per page, batch update/upsert and communication-preference writes 100 per call;
  Mailchimp members 1,000 per page, batch subscribe 500 per call), for the records that had to
  be pulled and the creates, updates and withdrawals the run made.
- **Wall time**: the rate limits alone, for those calls: HubSpot's 10-second budget (every
  call) and its search limit (5 per second). Mailchimp has no time quota, only a connection cap.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sandbox.server import SandboxConfig

PAGE = {"hubspot": 200, "mailchimp": 1000}
BATCH = {"hubspot": 100, "mailchimp": 500}
CONSENT_BATCH = 100
HUBSPOT_BUDGET = (100, 10.0)  # requests per 10-second window (Free / Starter)
SEARCH_PER_SECOND = 5
SEARCH = "POST /crm/v3/objects/contacts/search"
CONSENT_WRITE = "POST /communication-preferences/v4/statuses/batch/write"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sandbox:
    url: str
    config: SandboxConfig

    def stats(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.url}/_sandbox/stats", timeout=30).json()
        return body

    def env(self, database: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(
            {
                "BATON_DATABASE_URL": f"sqlite:///{database}",
                "BATON_HUBSPOT_BASE_URL": self.url,
                "BATON_HUBSPOT_TOKEN": self.config.hubspot_token,
                "BATON_MAILCHIMP_BASE_URL": f"{self.url}/3.0",
                "BATON_MAILCHIMP_API_KEY": self.config.mailchimp_api_key,
                "BATON_MAILCHIMP_LIST_ID": self.config.list_id,
                **extra,
            }
        )
        return env


@contextmanager
def sandbox_process(config: SandboxConfig) -> Iterator[Sandbox]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests/benchmarks/serve_sandbox.py"),
            str(port),
            config.model_dump_json(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            try:
                httpx.get(f"{url}/_sandbox/stats", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError("the sandbox process ended before it answered") from None
                time.sleep(0.1)
        yield Sandbox(url, config)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_sync(env: dict[str, str]) -> dict[str, Any]:
    """One `sync_once` in a fresh process: report, calls, wall and CPU seconds, peak RSS."""
    out = subprocess.run(
        [sys.executable, str(REPO / "tests/benchmarks/sync_once.py")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
        cwd=REPO,
    )
    if out.returncode != 0:
        raise RuntimeError(f"sync failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def edit_both_sides(sandbox: Sandbox, hubspot_ids: list[int], mailchimp_count: int) -> int:
    """Change the first name of the given CRM contacts and of `mailchimp_count` members,
    as users of each system would; returns the number of members changed. Waits out the
    CRM's 10-second window afterwards so the next run starts with the budget whole."""
    config = sandbox.config
    hs = httpx.Client(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {config.hubspot_token}"}
    )
    mc = httpx.Client(base_url=f"{sandbox.url}/3.0", auth=("bench", config.mailchimp_api_key))
    with hs, mc:
        for start in range(0, len(hubspot_ids), 100):
            inputs = [
                {"id": str(i), "properties": {"firstname": f"Edited{i}"}}
                for i in hubspot_ids[start : start + 100]
            ]
            r = hs.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
            r.raise_for_status()
        members: list[str] = []
        while len(members) < mailchimp_count:
            r = mc.get(
                f"/lists/{config.list_id}/members",
                params={"count": 1000, "offset": len(members), "status": "subscribed"},
            )
            r.raise_for_status()
            page = [m["email_address"] for m in r.json()["members"]]
            if not page:
                break
            members += page
        members = members[:mailchimp_count]
        for start in range(0, len(members), 500):
            body = {
                "members": [
                    {
                        "email_address": email,
                        "status_if_new": "subscribed",
                        "merge_fields": {"FNAME": f"Edited{start + k}"},
                    }
                    for k, email in enumerate(members[start : start + 500])
                ],
                "update_existing": True,
            }
            r = mc.post(f"/lists/{config.list_id}", json=body)
            r.raise_for_status()
            assert not r.json().get("errors"), r.json()["errors"][:3]
    time.sleep(HUBSPOT_BUDGET[1] + 0.5)
    return len(members)


def floor_calls(result: dict[str, Any], must_pull: dict[str, int]) -> dict[str, int]:
    """The calls a run needed at the largest page and batch sizes, per system."""
    systems = result["report"]["systems"]
    calls = result["calls"]
    floors: dict[str, int] = {}
    for name, counts in systems.items():
        floor = max(1, math.ceil(must_pull[name] / PAGE[name]))
        floor += math.ceil(counts["created"] / BATCH[name])
        floor += math.ceil(counts["updated"] / BATCH[name])
        floors[name] = floor
    # Withdrawals go through their own batch endpoint; at best one call per 100 of them.
    withdrawn = result.get("withdrawals", 0)
    if calls.get("hubspot", {}).get(CONSENT_WRITE):
        floors["hubspot"] += max(1, math.ceil(withdrawn / CONSENT_BATCH))
    return floors


def rate_floor_s(hubspot_calls: int, searches: int) -> float:
    """Seconds HubSpot's quotas alone need for these calls."""
    per_window, window = HUBSPOT_BUDGET
    return max(hubspot_calls * window / per_window, searches / SEARCH_PER_SECOND)


def measure(result: dict[str, Any], must_pull: dict[str, int]) -> dict[str, Any]:
    """One run's figures against its floors."""
    floors = floor_calls(result, must_pull)
    made = {name: sum(c.values()) for name, c in result["calls"].items()}
    floor_total = sum(floors.values())
    searches_floor = max(1, math.ceil(must_pull["hubspot"] / PAGE["hubspot"]))
    rate_floor = rate_floor_s(floors["hubspot"], searches_floor)
    pulled = sum(c["pulled"] for c in result["report"]["systems"].values())
    return {
        "api_calls": sum(made.values()),
        "calls_by_system": made,
        "floor_calls": floor_total,
        "calls_ratio": round(sum(made.values()) / floor_total, 3),
        "wall_s": round(result["wall_s"], 2),
        "rate_floor_s": round(rate_floor, 2),
        "wall_ratio": round(result["wall_s"] / rate_floor, 3),
        "cpu_s": round(result["cpu_s"], 2),
        "cpu_ms_per_record": round(result["cpu_s"] * 1000 / max(pulled, 1), 3),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "db_held_s": result.get("db_held_s"),
        "marks": result.get("marks"),
        "records_pulled": pulled,
        "counts": result["report"]["systems"],
        "calls": result["calls"],
        "errors": result["report"]["errors"],
    }


def markdown_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    head = (
        "| run | API calls / floor | wall / rate floor | CPU per record | peak RSS |\n"
        "| --- | --- | --- | --- | --- |\n"
    )
    lines = [
        f"| {name} | {m['api_calls']} / {m['floor_calls']} ({m['calls_ratio']:.3f}x) "
        f"| {m['wall_s']:.1f} s / {m['rate_floor_s']:.1f} s ({m['wall_ratio']:.2f}x) "
        f"| {m['cpu_ms_per_record']:.3f} ms | {m['peak_rss_mb']:.0f} MB |"
        for name, m in rows
    ]
    return head + "\n".join(lines) + "\n"
