"""`baton sandbox` prints the export lines that point Baton at it; they work as printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.integration.cli.test_cli_errors import baton, free_port


def test_pasted_exports_point_baton_at_the_sandbox(tmp_path) -> None:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "sandbox", "--port", str(port), "--overlap", "3"],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        printed = []
        while not printed or not printed[-1].startswith("# request counts"):
            printed.append(server.stdout.readline().rstrip("\n"))
            assert printed[-1] or server.poll() is None, printed
        exports = [line for line in printed if line.startswith("export ")]
        assert [line.split("=")[0] for line in exports] == [
            "export BATON_HUBSPOT_BASE_URL",
            "export BATON_HUBSPOT_TOKEN",
            "export BATON_MAILCHIMP_BASE_URL",
            "export BATON_MAILCHIMP_API_KEY",
            "export BATON_MAILCHIMP_LIST_ID",
        ]
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        # The lines as a shell would run them, then a sync in that shell's environment.
        shell = subprocess.run(
            ["bash", "-c", "\n".join(exports) + "\nenv -0"],
            capture_output=True,
            check=True,
        )
        env = dict(
            item.split("=", 1)
            for item in shell.stdout.decode().split("\0")
            if item.startswith("BATON_")
        )
        env["BATON_DATABASE_URL"] = f"sqlite:///{tmp_path / 'pasted.db'}"
        result = baton("sync", env=env)
        assert result.returncode == 0, result.stderr
        assert "Baton sync" in result.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
