"""Benchmark: `baton sync` from command start to its first API call, by hand (no
Prefect server configured). Target: under 3 s on this machine.

The clock starts just before the process is spawned and stops at the sandbox's
timestamp of the first vendor request it received. Results go to
`benchmark-results/cli-start.json`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import settings_for

pytestmark = pytest.mark.benchmark
RESULTS = Path("benchmark-results")
RUNS = 5


def test_sync_reaches_its_first_api_call_within_3_s(tmp_path) -> None:
    config = SandboxConfig(seed=9, overlap=1000, hubspot_only=500, mailchimp_only=500)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BATON_", "PREFECT_API_URL", "PREFECT_PROFILE"))
    }
    first_call, whole = [], []
    with SandboxServer(config) as server:
        for i in range(RUNS):
            httpx.post(f"{server.url}/_sandbox/reset", timeout=30).raise_for_status()
            env = {
                **clean,
                **settings_for(server, config, tmp_path),
                "BATON_DATABASE_URL": f"sqlite:///{tmp_path / f'start-{i}.db'}",
                "PREFECT_HOME": str(tmp_path / "prefect-home"),
            }
            started = time.time()
            result = subprocess.run(
                [sys.executable, "-m", "cli.main", "sync"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            whole.append(time.time() - started)
            assert result.returncode == 0, result.stderr
            stats = httpx.get(f"{server.url}/_sandbox/stats", timeout=5).json()
            first_call.append(stats["first_request_at"] - started)
    figures = {
        "contacts": config.overlap * 2 + config.hubspot_only + config.mailchimp_only,
        "runs": RUNS,
        "start_to_first_api_call_s": {
            "median": round(statistics.median(first_call), 3),
            "max": round(max(first_call), 3),
        },
        "whole_command_s": {
            "median": round(statistics.median(whole), 3),
            "max": round(max(whole), 3),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli-start.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    assert statistics.median(first_call) < 3.0
