"""One sync run, start to finish, over pluggable step functions.

The plain steps in `flows.pull` and `flows.push` run it without Prefect (tests, benchmarks);
`flows.sync` passes the same steps wrapped as Prefect tasks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.contract import ContactConnector, WriteOp
from connectors.hubspot import HubSpotClient
from connectors.mailchimp import MailchimpClient
from flows.context import SyncContext, close_run, finish_stream, open_run, stream_since
from flows.pull import pull_page
from flows.push import claim_batch, push_batch, reconcile_in_flight
from flows.report import RunReport
from flows.settings import Settings
from mapping.config import MappingConfig, load_mapping
from state.database import Database

PullStep = Callable[[SyncContext, str, datetime | None, str | None], Awaitable[str | None]]
PushStep = Callable[[SyncContext, str, Sequence[WriteOp]], Awaitable[None]]

# Bound on claim/push rounds per system: a create that meets an existing record
# becomes an update in the next round, nothing else loops.
_MAX_PUSH_ROUNDS = 10_000


@dataclass(frozen=True)
class Steps:
    pull: PullStep = pull_page
    push: PushStep = push_batch


def build_connectors(settings: Settings, config: MappingConfig) -> dict[str, ContactConnector]:
    settings.require_credentials()
    assert settings.hubspot_token and settings.mailchimp_api_key and settings.mailchimp_list_id
    return {
        "hubspot": HubSpotClient(
            settings.hubspot_base_url,
            settings.hubspot_token.get_secret_value(),
            properties=config.vendor_fields("hubspot"),
        ),
        "mailchimp": MailchimpClient(
            settings.mailchimp_base_url,
            settings.mailchimp_api_key.get_secret_value(),
            settings.mailchimp_list_id,
        ),
    }


def open_context(
    settings: Settings,
    connectors: Mapping[str, ContactConnector] | None = None,
    db: Database | None = None,
) -> SyncContext:
    config = load_mapping(settings.mapping_file)
    connectors = connectors or build_connectors(settings, config)
    database = db or Database(settings.database_url)
    run_id, started_at = open_run(database, timedelta(seconds=settings.lease_timeout_seconds))
    return SyncContext(
        db=database,
        config=config,
        connectors=connectors,
        report=RunReport(run_id=run_id),
        run_id=run_id,
        started_at=started_at,
        overlap=timedelta(seconds=settings.sync_overlap_seconds),
    )


async def check_connections(ctx: SyncContext) -> None:
    for connector in ctx.connectors.values():
        await connector.check()


async def sync_once(ctx: SyncContext, steps: Steps = Steps()) -> RunReport:
    """Pull every system, then push the planned writes; records the run either way."""
    started = time.perf_counter()
    try:
        # Writes a crash left in flight are settled first, before any pull
        # could plan on top of them.
        for system in ctx.systems:
            await reconcile_in_flight(ctx, system)
        for system in ctx.systems:
            since = stream_since(ctx, system)
            token: str | None = None
            while True:
                token = await steps.pull(ctx, system, since, token)
                if token is None:
                    break
            finish_stream(ctx, system)
        for system in ctx.systems:
            for _ in range(_MAX_PUSH_ROUNDS):
                ops = claim_batch(ctx, system)
                if not ops:
                    break
                await steps.push(ctx, system, ops)
    except BaseException as exc:
        ctx.report.seconds = time.perf_counter() - started
        close_run(ctx, "failed", f"{type(exc).__name__}: {exc}")
        raise
    ctx.report.seconds = time.perf_counter() - started
    close_run(ctx, "completed")
    return ctx.report


async def close_connectors(ctx: SyncContext) -> None:
    for connector in ctx.connectors.values():
        await connector.aclose()
