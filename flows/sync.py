"""The Prefect flow: one task per page pulled and per batch pushed, never per record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE

from connectors.contract import WriteOp
from flows.context import SyncContext
from flows.pull import pull_page
from flows.push import push_batch
from flows.run import Steps, check_connections, close_connectors, open_context, sync_once
from flows.settings import Settings


@task(name="pull-page", cache_policy=NONE, log_prints=False)
async def pull_page_task(
    ctx: SyncContext, system: str, since: datetime | None, token: str | None
) -> str | None:
    return await pull_page(ctx, system, since, token)


@task(name="push-batch", cache_policy=NONE, log_prints=False)
async def push_batch_task(ctx: SyncContext, system: str, ops: Sequence[WriteOp]) -> None:
    await push_batch(ctx, system, ops)


@flow(name="baton-sync", log_prints=False)
async def sync_flow(artifacts: bool = True) -> dict[str, Any]:
    """Sync contacts both ways once, with settings from the environment."""
    settings = Settings()
    ctx = open_context(settings)
    try:
        await check_connections(ctx)
        report = await sync_once(ctx, Steps(pull=pull_page_task, push=push_batch_task))
    finally:
        await close_connectors(ctx)
        ctx.db.dispose()
    summary = report.as_dict()
    get_run_logger().info("sync run %s finished: %s", report.run_id, summary)
    if artifacts:
        rows = [{"system": name, **counts} for name, counts in summary["systems"].items()]
        await acreate_table_artifact(
            key="baton-sync-run", table=rows, description=f"Baton sync run {report.run_id}"
        )
    return {"run_id": report.run_id, **summary}
