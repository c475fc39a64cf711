"""Which engine a by-hand `baton sync` uses, and what the Prefect-free one costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from cli.engine import prefect_api_configured
from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import settings_for

# Runs the real command in a fresh interpreter, then reports what it imported.
PROBE = """
import json, sys
from cli.main import run
sys.argv = ["baton", "sync"]
try:
    run()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print(json.dumps({"code": code, "prefect_modules": loaded}), file=sys.stderr)
"""


def test_sync_without_a_prefect_server_never_imports_prefect(tmp_path) -> None:
    config = SandboxConfig(overlap=3, hubspot_only=2, mailchimp_only=2)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BATON_", "PREFECT_API_URL", "PREFECT_PROFILE"))
    }
    with SandboxServer(config) as server:
        env = {
            **clean,
            **settings_for(server, config, tmp_path),
            "PREFECT_HOME": str(tmp_path / "prefect-home"),  # no profile with an API URL
        }
        result = subprocess.run(
            [sys.executable, "-c", PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    probe = json.loads(result.stderr.strip().splitlines()[-1])
    assert probe["code"] == 0, result.stderr
    assert "Baton sync" in result.stdout  # the run really happened
    assert probe["prefect_modules"] == []
    # Off a terminal the run prints its report and nothing else (no progress lines).
    assert result.stderr.strip().splitlines()[:-1] == []


def test_prefect_api_url_selects_the_prefect_engine(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    assert not prefect_api_configured()
    (tmp_path / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n'
        "[profiles.ephemeral]\n"
    )
    assert prefect_api_configured()  # from the active profile
    monkeypatch.setenv("PREFECT_PROFILE", "ephemeral")
    assert not prefect_api_configured()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert prefect_api_configured()


@pytest.mark.parametrize("terminal", [True, False])
async def test_progress_shows_on_a_terminal_only(terminal: bool, tmp_path: Path) -> None:
    from cli.progress import RunProgress
    from flows.report import RunReport

    buffer = StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=200)
    calls: list[str] = []

    async def fetch(ctx, system, since, token):
        calls.append(system)
        return None

    async def apply(ctx, system, page):
        ctx.report.of(system).pulled += 250

    async def push(ctx, system, ops):
        return None

    from flows.run import Steps

    class Ctx:
        run_id = 7
        report = RunReport(run_id=7)

    with RunProgress(console) as progress:
        steps = progress.steps(Steps(fetch=fetch, apply=apply, push=push))
        ctx = Ctx()
        assert await steps.fetch(ctx, "hubspot", None, None) is None  # type: ignore[arg-type]
        await steps.apply(ctx, "hubspot", None)  # type: ignore[arg-type]
        line = progress.line
    assert calls == ["hubspot"]
    if terminal:
        assert line.startswith("run 7: ")
        assert "hubspot: 250 read" in line
        assert buffer.getvalue()  # the spinner was drawn
    else:
        assert line == ""
        assert buffer.getvalue() == ""
