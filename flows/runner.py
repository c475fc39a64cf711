"""One whole sync with settings from the environment, without Prefect's engine.

Builds the connectors, takes the lease, runs `sync_once` (or a dry run) over the
given steps and closes everything again. `baton sync` calls it directly when no
Prefect server is configured (a temporary one costs 10-30 s to start, longer than
most runs take); `flows.sync` calls it with its steps wrapped as Prefect tasks.
Nothing here may import prefect: the by-hand path stays fast only while it does not.
"""

from __future__ import annotations

from typing import Any

from flows.dry_run import dry_run as plan_run
from flows.report import RunReport
from flows.run import Steps, build_connectors, open_context, sync_once, verify_systems
from flows.settings import Settings
from mapping.config import load_mapping


class SyncIncomplete(Exception):
    """Some systems were set aside during the run; `report` still has its counts."""

    def __init__(self, report: RunReport) -> None:
        super().__init__("; ".join(f"{system}: {error}" for system, error in report.errors.items()))
        self.report = report
        self.errors = dict(report.errors)
        self.summary = {"run_id": report.run_id, **report.as_dict()}


async def run_sync(
    settings: Settings,
    steps: Steps | None = None,
    *,
    verify: bool = True,
    dry_run: bool = False,
) -> tuple[RunReport, list[dict[str, Any]]]:
    """One run, start to finish: its report, and with `dry_run` a sample of the writes
    it would send. Raises `LeaseHeld` while another run is alive and `SyncIncomplete`
    when a system was set aside."""
    config = load_mapping(settings.mapping_file, phone_region=settings.phone_default_region)
    connectors = build_connectors(settings, config)
    sample: list[dict[str, Any]] = []
    try:
        if verify:
            await verify_systems(config, connectors, settings.mapping_file)
        ctx = open_context(settings, connectors=connectors, config=config)
        try:
            if dry_run:
                plan = await plan_run(ctx, steps or Steps())
                sample = [write.as_dict() for write in plan.sample()]
                report = ctx.report
            else:
                report = await sync_once(ctx, steps or Steps())
        finally:
            ctx.db.dispose()
    finally:
        for connector in connectors.values():
            await connector.aclose()
    if report.errors:
        raise SyncIncomplete(report)
    return report, sample


def summary_of(report: RunReport, sample: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    """What `baton sync` and the flow return: the report, with a dry run's sample."""
    summary: dict[str, Any] = {"run_id": report.run_id, **report.as_dict()}
    if dry_run:
        summary["sample"] = sample
    return summary
