"""What one run works with, and the bookkeeping of runs: the lease, cursors, the
run record."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connectors.contract import ContactConnector
from flows.report import RunReport
from mapping.config import MappingConfig
from state import repository as repo
from state.database import Database
from state.models import LeaseRow, RunStatus, SyncRunRow, utcnow


@dataclass
class SyncContext:
    """Everything one run works with."""

    db: Database
    config: MappingConfig
    connectors: Mapping[str, ContactConnector]
    report: RunReport
    run_id: int
    started_at: datetime
    overlap: timedelta = timedelta(seconds=120)
    lease_timeout: timedelta = timedelta(seconds=600)
    db_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Held by every unit of database work: one writer at a time (`in_db`)."""

    @property
    def systems(self) -> list[str]:
        return list(self.connectors)


P = ParamSpec("P")
T = TypeVar("T")


async def in_db(ctx: SyncContext, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one unit of database work in a worker thread, one unit at a time.

    The run's pulls and pushes overlap on the network; their database work
    does not (SQLite has a single writer, and a page is one transaction). Off
    the event loop, a page being applied does not hold up requests in flight
    or the pacing of the next ones.
    """

    def locked() -> T:
        with ctx.db_lock:
            return work(*args, **kwargs)

    return await asyncio.to_thread(locked)


LEASE = "sync"
log = logging.getLogger("baton.sync")


def open_run(db: Database, lease_timeout: timedelta) -> tuple[int, datetime]:
    """Record a new run and take the lease; raises `LeaseHeld` if a live run has it."""
    with db.session() as s:
        run = repo.start_run(s)
        try:
            previous = repo.acquire_lease(
                s, LEASE, run.id, lease_timeout, holder=this_process(), holder_gone=process_gone
            )
        except repo.LeaseHeld:
            s.rollback()
            raise
        # Runs still marked running do not hold the lease: their process died.
        for stale in s.scalars(
            select(SyncRunRow).where(
                SyncRunRow.status == RunStatus.RUNNING, SyncRunRow.id != run.id
            )
        ):
            stale.status = RunStatus.INTERRUPTED
            if stale.id == previous:
                stale.error = "its process stopped renewing the lease; taken over"
        s.commit()
        # Whole seconds: Mailchimp's last_changed has no finer precision.
        return run.id, run.started_at.replace(microsecond=0)


def refuse_if_running(db: Database, lease_timeout: timedelta) -> None:
    """Raise `LeaseHeld` when a live run holds the lease.

    A cheap early look, so a second `baton sync` is refused before anything slow
    starts; `open_run` takes the lease atomically all the same.
    """
    with db.session() as s:
        lease = s.get(LeaseRow, LEASE)
    if lease is not None and _alive(lease, lease_timeout):
        raise repo.LeaseHeld(lease.run_id, lease.heartbeat_at)


def dead_runs(s: Session, lease_timeout: timedelta) -> set[int]:
    """Runs still marked running whose process is gone (killed, or its machine died).

    Only the lease holder is running: a run marked running without the lease, or
    holding it from a process no longer alive, is not (the next run records it
    as interrupted).
    """
    running = set(s.scalars(select(SyncRunRow.id).where(SyncRunRow.status == RunStatus.RUNNING)))
    lease = s.get(LeaseRow, LEASE)
    if lease is not None and lease.run_id in running and _alive(lease, lease_timeout):
        running.discard(lease.run_id)
    return running


def _alive(lease: LeaseRow, timeout: timedelta) -> bool:
    if lease.run_id is None or lease.heartbeat_at < utcnow() - timeout:
        return False
    return not (lease.holder and process_gone(lease.holder))


def this_process() -> str:
    """ "host/pid-namespace:pid": containers can share a host name, not a PID namespace."""
    return f"{socket.gethostname()}/{_pid_namespace()}:{os.getpid()}"


def process_gone(holder: str) -> bool:
    """Is `holder` a process in this host and PID namespace that no longer exists?

    Only such a process can be checked; elsewhere the lease timeout decides.
    A killed sync can thus be rerun at once on the same machine.
    """
    place, _, pid = holder.rpartition(":")
    if place != f"{socket.gethostname()}/{_pid_namespace()}" or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "-"


def keep_lease(ctx: SyncContext, s: Session) -> None:
    """Renew the lease in this transaction; raises `LeaseLost` if another run has it."""
    if not repo.renew_lease(s, LEASE, ctx.run_id):
        raise repo.LeaseLost(f"run {ctx.run_id} lost its lease to another run; it stops here")


async def heartbeat(ctx: SyncContext) -> None:
    """Renew the lease while a run waits on slow APIs (retries, Retry-After)."""
    interval = min(60.0, ctx.lease_timeout.total_seconds() / 4)
    while True:
        await asyncio.sleep(interval)
        try:
            if not await in_db(ctx, _renew, ctx):
                return  # the next page or batch raises LeaseLost
        except SQLAlchemyError as exc:
            # A busy database now is no reason to stop renewing; say so and go on.
            log.warning("run %s could not renew its lease: %s", ctx.run_id, exc)


def _renew(ctx: SyncContext) -> bool:
    with ctx.db.session() as s:
        renewed = repo.renew_lease(s, LEASE, ctx.run_id)
        s.commit()
        return renewed


def close_run(ctx: SyncContext, status: RunStatus, error: str | None = None) -> None:
    for system, connector in ctx.connectors.items():
        ctx.report.of(system).api_calls = connector.stats.total
    # Waits for database work still running in a worker thread (a cancelled page).
    with ctx.db_lock, ctx.db.session() as s:
        run = s.get(SyncRunRow, ctx.run_id)
        # A run another one took over was already marked interrupted: keep that.
        if run is not None and run.status == RunStatus.RUNNING:
            run.status = status
            run.finished_at = utcnow()
            run.stats = ctx.report.as_dict()
            run.error = error
        repo.release_lease(s, LEASE, ctx.run_id)
        s.commit()


def stream_since(ctx: SyncContext, system: str) -> datetime | None:
    with ctx.db.session() as s:
        since = repo.cursor(s, f"{system}.contacts")
    return since - ctx.overlap if since is not None else None


def finish_stream(ctx: SyncContext, system: str) -> None:
    with ctx.db.session() as s:
        repo.advance_cursor(s, f"{system}.contacts", ctx.started_at, ctx.run_id)
        s.commit()
