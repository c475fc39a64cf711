"""What runs a by-hand `baton sync`: Prefect's engine only when a Prefect server is set.

With `PREFECT_API_URL` (in the environment or the active Prefect profile) the run
is the Prefect flow, visible in that server's UI like scheduled runs. Without it,
Prefect would start a temporary server of its own for every command (10-30 s on
two cores, and a process a `kill -9` leaves behind), so the same steps run
directly instead, and prefect is not even imported.
"""

from __future__ import annotations

import os
import signal
import tomllib
from pathlib import Path
from typing import Any

from cli.interrupts import Interrupted, run_until_signal
from cli.progress import RunProgress
from flows.settings import Settings


def prefect_api_configured() -> bool:
    """Is a Prefect server configured, as Prefect itself would find it?"""
    if os.environ.get("PREFECT_API_URL", "").strip():
        return True
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    profile = profiles.get("profiles", {}).get(active, {})
    return isinstance(profile, dict) and bool(str(profile.get("PREFECT_API_URL", "")).strip())


def quiet_prefect() -> None:
    # Baton reports failures itself, in one line; Prefect's own error logs
    # (with tracebacks) would repeat them. The Prefect UI still has every state.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def run_sync_command(
    settings: Settings, progress: RunProgress, *, dry_run: bool = False
) -> dict[str, Any]:
    """One run, its summary as a dict; raises what `flows.runner.run_sync` raises,
    and `Interrupted` on SIGINT / SIGTERM (the run is then recorded as interrupted)."""
    if prefect_api_configured():
        quiet_prefect()
        from prefect.exceptions import TerminationSignal

        from flows.sync import sync_flow

        # Prefect's engine takes SIGTERM over while a flow runs (raising
        # TerminationSignal); the loop then cancels the flow on its way out, so the
        # run is still recorded as interrupted. SIGINT stays with Baton.
        try:
            result: dict[str, Any] = run_until_signal(
                sync_flow(verify=False, dry_run=dry_run), signals=(signal.SIGINT,)
            )
        except TerminationSignal as exc:
            raise Interrupted(exc.signal) from None
        return result
    from flows.runner import run_sync, summary_of

    with progress:
        run = run_sync(settings, progress.steps(), verify=False, dry_run=dry_run)
        report, sample = run_until_signal(run)
    return summary_of(report, sample, dry_run)
