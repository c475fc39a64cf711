"""Benchmark: a first sync and a 1 % incremental against the vendors' floors.

Each system holds N records (half of the people are in both), the sandbox answers every
vendor request after 30 ms and enforces HubSpot's 100 requests per 10 s and 5 searches per
second. Runs: the first sync; a settling sync (it reads back what the first one wrote, as
every run must, and writes nothing); then 1 % of each side's records edited and the
incremental sync; and the first sync again on a portal where 20 % of the CRM's records
carry an address the email platform refuses. Figures go to `benchmark-results/floor-N.json`
and a markdown table to `benchmark-results/floor-N.md`.

Sizes come from `BATON_BENCH_SIZES` (comma-separated, default 20000); the 100,000 run is
`BATON_BENCH_SIZES=100000 .venv/bin/pytest -q -m benchmark -p no:randomly
tests/benchmarks/test_sync_floor.py -s` (about 10 minutes on an idle 2-core machine).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import SandboxConfig
from tests.benchmarks.harness import (
    SEARCH,
    Sandbox,
    edit_both_sides,
    markdown_table,
    measure,
    run_sync,
    sandbox_process,
)

pytestmark = pytest.mark.benchmark
RESULTS = Path("benchmark-results")
SIZES = [int(n) for n in os.environ.get("BATON_BENCH_SIZES", "20000").split(",") if n.strip()]
LATENCY_MS = 30
# Records modified by the first sync are read back by the next whatever the overlap; a small
# one keeps the settling sync from reaching back into the first sync's edits twice. The
# sandbox's search sees writes at once here (no index lag), so the overlap may be that short.
OVERLAP_S = "5"
TIMING = {"BATON_SYNC_OVERLAP_SECONDS": OVERLAP_S, "BATON_HUBSPOT_SEARCH_LAG_SECONDS": "0"}


def portal(per_side: int, refused: float = 0.0) -> SandboxConfig:
    half = per_side // 2
    invalid = int(per_side * refused)
    return SandboxConfig(
        seed=3,
        overlap=half,
        hubspot_only=per_side - half - invalid,
        mailchimp_only=per_side - half,
        invalid_emails=invalid,
        missing_emails=0,
        latency_ms=LATENCY_MS,
        hubspot_burst=100,
        hubspot_search_per_second=5,
    )


def first_sync(sandbox: Sandbox, db: Path, per_side: int) -> dict[str, Any]:
    env = sandbox.env(db, **TIMING)
    return measured(sandbox, env, {"hubspot": per_side, "mailchimp": per_side})


def measured(sandbox: Sandbox, env: dict[str, str], must_pull: dict[str, int]) -> dict[str, Any]:
    """One sync's figures, with the 429s the sandbox answered during it."""
    before = sum(sandbox.stats()["throttled"].values())
    figures = measure(run_sync(env), must_pull)
    figures["throttled"] = sum(sandbox.stats()["throttled"].values()) - before
    return figures


@pytest.mark.parametrize("per_side", SIZES)
def test_sync_at_the_floor(per_side: int, tmp_path: Path) -> None:
    rows: list[tuple[str, dict[str, Any]]] = []
    with sandbox_process(portal(per_side)) as sandbox:
        first = first_sync(sandbox, tmp_path / "clean.db", per_side)
        rows.append((f"first sync, {per_side:,} per side", first))
        env = sandbox.env(tmp_path / "clean.db", **TIMING)
        time.sleep(int(OVERLAP_S) + 1)  # the incremental then reaches back only to its edits
        written = {name: c["created"] + c["updated"] for name, c in first["counts"].items()}
        settle = measured(sandbox, env, written)
        rows.append(("settling sync (reads back the first sync's writes)", settle))
        step = 100
        ids = [1001 + i for i in range(0, per_side, step)]
        members = edit_both_sides(sandbox, ids, per_side // step)
        incremental = measured(sandbox, env, {"hubspot": len(ids), "mailchimp": members})
        rows.append((f"incremental, 1 % changed ({len(ids)} + {members})", incremental))
        clean_records = sandbox.stats()["records"]
    with sandbox_process(portal(per_side, refused=0.2)) as sandbox:
        refused = first_sync(sandbox, tmp_path / "refused.db", per_side)
        rows.append(("first sync, 20 % of CRM records refused", refused))

    table = markdown_table(rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"floor-{per_side}.json").write_text(json.dumps(dict(rows), indent=2))
    (RESULTS / f"floor-{per_side}.md").write_text(table)
    print("\n" + table)
    for name, m in rows:
        print(
            name,
            json.dumps({k: m[k] for k in ("calls", "errors", "db_held_s", "marks", "throttled")}),
        )

    assert clean_records == {"hubspot": per_side + per_side // 2, "mailchimp": per_side * 3 // 2}
    assert settle["counts"]["hubspot"]["created"] + settle["counts"]["hubspot"]["updated"] == 0
    assert settle["counts"]["mailchimp"]["created"] + settle["counts"]["mailchimp"]["updated"] == 0
    assert first["calls"]["hubspot"][SEARCH] >= per_side // 200
    for _, m in rows:
        assert not m["errors"]
        assert m["peak_rss_mb"] < 500
    assert first["calls_ratio"] <= 1.05
    assert first["wall_ratio"] <= 1.15
    assert refused["wall_s"] <= 1.2 * first["wall_s"]
