"""Real `baton sync` processes stopped by real signals: a clean end, recorded, nothing left.

The email platform is made to answer 503 with a long Retry-After, so each run is
reliably mid-push (waiting to retry) when the signal arrives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import baton, settings_for


@pytest.fixture
def server():
    with SandboxServer(SandboxConfig(seed=3, overlap=4, hubspot_only=3, mailchimp_only=3)) as s:
        yield s


def stall_email_platform(server: SandboxServer) -> None:
    httpx.post(
        f"{server.url}/_sandbox/faults",
        timeout=5,
        json={
            "method": "POST",
            "path": f"/3.0/lists/{server.config.list_id}",
            "status": 503,
            "times": 100,
            "retry_after": 30,
        },
    ).raise_for_status()


def stats(server: SandboxServer) -> dict:
    return httpx.get(f"{server.url}/_sandbox/stats", timeout=5).json()


def start_sync(env: dict[str, str]) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "sync"],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: anything it starts shows up there
    )


def wait_until_pushing(server: SandboxServer, proc: subprocess.Popen[str]) -> None:
    key = "POST /3.0/lists/{list_id}"
    deadline = time.monotonic() + 60
    while stats(server)["requests"].get(key, 0) < 1:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "baton sync never reached the email platform"
        time.sleep(0.1)


def group_is_empty(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_run_ends_it_cleanly_as_interrupted(
    server: SandboxServer, tmp_path, signum: int, code: int
) -> None:
    env = settings_for(server, server.config, tmp_path)
    stall_email_platform(server)
    proc = start_sync(env)
    wait_until_pushing(server, proc)
    os.kill(proc.pid, signum)
    out, err = proc.communicate(timeout=30)

    assert proc.returncode == code
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert signal.Signals(signum).name in lines[0]
    assert group_is_empty(proc.pid)

    status = baton("status", env=env)
    assert status.returncode == 0, status.stderr
    run_line = next(line for line in status.stdout.splitlines() if line.strip().startswith("1 "))
    assert "interrupted" in run_line
    assert "running" not in status.stdout
    # The lease went with the run: the next sync starts at once and finishes.
    httpx.delete(f"{server.url}/_sandbox/faults", timeout=5).raise_for_status()
    assert baton("sync", env=env).returncode == 0


def test_second_sync_is_refused_before_anything_slow(server: SandboxServer, tmp_path) -> None:
    env = settings_for(server, server.config, tmp_path)
    stall_email_platform(server)
    first = start_sync(env)
    try:
        wait_until_pushing(server, first)
        # Let the first run's other writes finish: only the stalled ones remain.
        before = stats(server)["requests"]
        while True:
            time.sleep(0.5)
            now = stats(server)["requests"]
            if now == before:
                break
            before = now
        started = time.monotonic()
        second = baton("sync", env=env)
        took = time.monotonic() - started
        assert second.returncode == 1
        assert "another run is in progress: run 1 is still running" in second.stderr
        assert took < 5, f"refused only after {took:.1f} s"
        # Refused before asking either system anything.
        assert stats(server)["requests"] == before
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)


def test_sigkilled_sync_leaves_no_process_and_shows_as_killed(
    server: SandboxServer, tmp_path
) -> None:
    env = settings_for(server, server.config, tmp_path)
    stall_email_platform(server)
    proc = start_sync(env)
    wait_until_pushing(server, proc)
    os.kill(proc.pid, signal.SIGKILL)  # the process only, not its group
    proc.communicate(timeout=30)
    assert group_is_empty(proc.pid)

    status = baton("status", env=env)
    run_line = next(line for line in status.stdout.splitlines() if line.strip().startswith("1 "))
    assert "killed" in run_line
    assert "running" not in status.stdout
