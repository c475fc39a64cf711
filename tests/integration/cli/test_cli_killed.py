"""A real `baton sync` process killed with SIGKILL mid-push, then run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import settings_for
from tests.integration.vendors import Runner, Vendors


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=5, overlap=10, hubspot_only=6, mailchimp_only=6)


def test_sigkilled_sync_is_rerun_at_once_and_converges(
    sandbox: SandboxServer,
    sandbox_config: SandboxConfig,
    vendors: Vendors,
    run_sync: Runner,
    settings,
    tmp_path,
) -> None:
    list_id = sandbox_config.list_id
    # The email platform stalls: the process will be waiting to retry when it dies.
    httpx.post(
        f"{sandbox.url}/_sandbox/faults",
        timeout=5,
        json={
            "method": "POST",
            "path": f"/3.0/lists/{list_id}",
            "status": 503,
            "times": 100,
            "retry_after": 20,
        },
    ).raise_for_status()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(settings_for(sandbox, sandbox_config, tmp_path))
    env["BATON_DATABASE_URL"] = settings.database_url
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            requests = vendors.stats()["requests"]
            if requests.get("POST /3.0/lists/{list_id}", 0) >= 1:
                break
            assert proc.poll() is None, "baton sync ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("baton sync never reached the email platform")
        hubspot_writes_before = vendors.stats()["write_calls"]["hubspot"]
        assert hubspot_writes_before > 0  # the CRM batches went through before the kill
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    httpx.delete(f"{sandbox.url}/_sandbox/faults", timeout=5).raise_for_status()

    report = run_sync()  # not refused: the lease's holder is gone
    stats = vendors.stats()
    for system in ("hubspot", "mailchimp"):
        twice = {k: n for k, n in stats["record_writes"][system].items() if n > 1}
        assert twice == {}, f"{system} records written more than once: {twice}"
    assert report.of("mailchimp").created == sandbox_config.hubspot_only
    assert report.of("hubspot").created == 0  # done before the kill, not again
    vendors.reset_stats()
    assert run_sync().writes == 0
