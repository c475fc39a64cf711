"""The Prefect flow: a task per page fetched, per page applied and per batch pushed,
never per record.

`baton sync` runs it when a Prefect server is configured (`PREFECT_API_URL`), and
deployments run it on a schedule; the run itself is `flows.runner.run_sync`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE

from connectors.contract import Page, WriteOp
from flows.context import SyncContext
from flows.pull import apply_page, fetch_page
from flows.push import push_batch
from flows.report import RunReport
from flows.run import Steps
from flows.runner import SyncIncomplete, run_sync, summary_of
from flows.settings import Settings
from state.repository import LeaseHeld

__all__ = ["SyncIncomplete", "sync_flow"]


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
    steps = Steps(fetch=fetch_page_task, apply=apply_page_task, push=push_batch_task)
    settings = Settings()
    get_run_logger().info(settings.mapping_line())
    try:
        report, sample = await run_sync(settings, steps, verify=verify, dry_run=dry_run)
    except LeaseHeld as exc:
        get_run_logger().warning("sync skipped: %s", exc)
        return {"skipped": str(exc)}
    except SyncIncomplete as exc:
        # The Prefect state says what the report says: not every system was synced.
        await _finish(exc.report, artifacts)
        raise
    await _finish(report, artifacts)
    return summary_of(report, sample, dry_run)


async def _finish(report: RunReport, artifacts: bool) -> None:
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
