"""The Prefect flow: a task per page fetched, per page applied and per batch pushed,
never per record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE

from connectors.contract import Page, WriteOp
from flows.context import SyncContext
from flows.dry_run import dry_run as plan_run
from flows.pull import apply_page, fetch_page
from flows.push import push_batch
from flows.run import Steps, build_connectors, open_context, sync_once, verify_systems
from flows.settings import Settings
from mapping.config import load_mapping
from state.repository import LeaseHeld


@task(name="fetch-page", cache_policy=NONE, log_prints=False)
async def fetch_page_task(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> Page:
    return await fetch_page(ctx, system, since, token)


@task(name="apply-page", cache_policy=NONE, log_prints=False)
async def apply_page_task(ctx: SyncContext, system: str, page: Page) -> None:
    await apply_page(ctx, system, page)


@task(name="push-batch", cache_policy=NONE, log_prints=False)
async def push_batch_task(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
    await push_batch(ctx, system, ops)


@flow(name="baton-sync", log_prints=False)
async def sync_flow(
    artifacts: bool = True, verify: bool = True, dry_run: bool = False
) -> dict[str, Any]:
    """Sync contacts both ways once, with settings from the environment.

    A run that finds another one still going ends at once as skipped (not
    failed): on a schedule that is the normal way to miss a beat. With `dry_run`
    the run plans every write and sends none (`flows.dry_run`); the result holds
    the planned counts and a sample.
    """
    settings = Settings()
    config = load_mapping(settings.mapping_file, phone_region=settings.phone_default_region)
    connectors = build_connectors(settings, config)
    try:
        if verify:
            await verify_systems(config, connectors, settings.mapping_file)
        try:
            ctx = open_context(settings, connectors=connectors, config=config)
        except LeaseHeld as exc:
            get_run_logger().warning("sync skipped: %s", exc)
            return {"skipped": str(exc)}
        sample: list[dict[str, Any]] = []
        try:
            steps = Steps(fetch=fetch_page_task, apply=apply_page_task, push=push_batch_task)
            if dry_run:
                plan = await plan_run(ctx, steps)
                sample = [write.as_dict() for write in plan.sample()]
                report = ctx.report
            else:
                report = await sync_once(ctx, steps)
        finally:
            ctx.db.dispose()
    finally:
        for connector in connectors.values():
            await connector.aclose()
    summary = report.as_dict()
    get_run_logger().info("sync run %s finished: %s", report.run_id, summary)
    if artifacts:
        planned = summary.get("planned", {})
        rows = [
            {
                "system": name,
                **counts,
                **{f"would_{k}": n for k, n in planned.get(name, {}).items()},
            }
            for name, counts in summary["systems"].items()
        ]
        await acreate_table_artifact(
            key="baton-sync-run", table=rows, description=f"Baton sync run {report.run_id}"
        )
    if report.errors:
        # The Prefect state says what the report says: not every system was synced.
        raise SyncIncomplete(report.errors, {"run_id": report.run_id, **summary})
    if dry_run:
        return {"run_id": report.run_id, **summary, "sample": sample}
    return {"run_id": report.run_id, **summary}


def _would(kinds: dict[str, int]) -> dict[str, int]:
    """A dry run's planned writes as artifact columns (`would_create`, `would_update`)."""
    return {f"would_{kind}": count for kind, count in kinds.items()}


class SyncIncomplete(Exception):
    """Some systems were set aside during the run; `summary` still has its counts."""

    def __init__(self, errors: dict[str, str], summary: dict[str, Any]) -> None:
        super().__init__("; ".join(f"{system}: {error}" for system, error in errors.items()))
        self.errors = errors
        self.summary = summary
