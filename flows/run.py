"""One sync run, start to finish, over pluggable step functions.

The plain steps in `flows.pull` and `flows.push` run it without Prefect (tests, benchmarks);
`flows.sync` passes the same steps wrapped as Prefect tasks. `flows.pipeline` runs the
pulls and pushes concurrently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from connectors.contract import ContactConnector
from connectors.errors import ConnectorError
from connectors.http import RetryPolicy
from connectors.hubspot import HubSpotClient
from connectors.hubspot_quota import HubSpotQuota
from connectors.mailchimp import MailchimpClient
from flows.context import SyncContext, close_run, heartbeat, open_run
from flows.mapping_check import verify_mapping
from flows.pipeline import Steps, pull_and_push
from flows.push import reconcile_in_flight
from flows.report import RunReport
from flows.settings import Settings
from mapping.config import MappingConfig, load_mapping
from state.database import Database
from state.models import RunStatus

__all__ = ["Steps", "build_connectors", "close_connectors", "open_context", "sync_once"]


def build_connectors(
    settings: Settings, config: MappingConfig, retry: RetryPolicy | None = None
) -> dict[str, ContactConnector]:
    settings.require_credentials()
    assert settings.hubspot_token and settings.mailchimp_api_key and settings.mailchimp_list_id
    # Writes and waits for a free pooled connection get the read timeout too.
    timeout = httpx.Timeout(
        settings.http_read_timeout_seconds, connect=settings.http_connect_timeout_seconds
    )
    return {
        "hubspot": HubSpotClient(
            settings.hubspot_base_url,
            settings.hubspot_token.get_secret_value(),
            properties=config.vendor_fields("hubspot"),
            quota=HubSpotQuota(settings.hubspot_rate_tier, settings.hubspot_rate_share),
            retry=retry,
            timeout_s=timeout,
            subscription_id=settings.hubspot_subscription_id,
            legal_basis=settings.hubspot_legal_basis,
            legal_basis_explanation=settings.hubspot_legal_basis_explanation,
        ),
        "mailchimp": MailchimpClient(
            settings.mailchimp_base_url,
            settings.mailchimp_api_key.get_secret_value(),
            settings.mailchimp_list_id,
            max_connections=settings.mailchimp_max_connections,
            retry=retry,
            timeout_s=timeout,
        ),
    }


def open_context(
    settings: Settings,
    connectors: Mapping[str, ContactConnector] | None = None,
    db: Database | None = None,
    config: MappingConfig | None = None,
) -> SyncContext:
    """Start a run: takes the lease (raises `LeaseHeld` while another run lives)."""
    config = config or load_mapping(
        settings.mapping_file, phone_region=settings.phone_default_region
    )
    connectors = connectors or build_connectors(settings, config)
    if db is None:
        settings.prepare_data_dir()
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
        lease_timeout=timedelta(seconds=settings.lease_timeout_seconds),
    )


async def verify_systems(
    config: MappingConfig, connectors: Mapping[str, ContactConnector], mapping_file: Path
) -> None:
    """Before a run: each system answers, accepts its credential, and has every field the
    mapping names, of a type that holds it, writable where it is written, with every value
    written (the rules of `baton mapping validate --remote`, `flows.mapping_check`)."""
    await verify_mapping(config, connectors, mapping_file)


_PLAIN_STEPS = Steps()


async def sync_once(ctx: SyncContext, steps: Steps = _PLAIN_STEPS) -> RunReport:
    """Pull every system and push the planned writes (`flows.pipeline`: both systems at
    once, pushes while pulls go on); records the run either way.

    A system that fails (unreachable, refusing, throttling past every retry)
    is set aside for the rest of the run and named in the report; the other
    system is still pulled and written. Its cursor stays where it was, so
    nothing it had is missed next time.
    """
    started = time.perf_counter()
    beat = asyncio.create_task(heartbeat(ctx))
    try:
        # Writes a crash left in flight are settled first, before any pull
        # could plan on top of them.
        for system in ctx.systems:
            await _guarded(ctx, system, reconcile_in_flight(ctx, system))
        await pull_and_push(ctx, steps)
    except Exception as exc:
        ctx.report.seconds = time.perf_counter() - started
        close_run(ctx, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    except BaseException:
        # Not an error but an order to stop (a signal: CancelledError, KeyboardInterrupt,
        # Prefect's TerminationSignal): the run ends cleanly where it was.
        ctx.report.seconds = time.perf_counter() - started
        close_run(ctx, RunStatus.INTERRUPTED, "stopped by a signal before it finished")
        raise
    finally:
        beat.cancel()
    ctx.report.seconds = time.perf_counter() - started
    errors = ctx.report.errors
    close_run(
        ctx,
        RunStatus.PARTIAL if errors else RunStatus.COMPLETED,
        "; ".join(f"{system}: {error}" for system, error in errors.items()) or None,
    )
    return ctx.report


async def _guarded(ctx: SyncContext, system: str, step: Coroutine[Any, Any, Any]) -> None:
    if system in ctx.report.errors:
        step.close()  # set aside earlier in this run
        return
    try:
        await step
    except ConnectorError as exc:
        ctx.report.errors[system] = str(exc)


async def close_connectors(ctx: SyncContext) -> None:
    for connector in ctx.connectors.values():
        await connector.aclose()
