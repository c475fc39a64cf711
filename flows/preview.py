"""`baton mapping preview`: a few real records from each system, read through the mapping,
and the writes a sync would make for them, with no write anywhere.

The first `limit` records of each system are fetched (read calls only), and for each one
the record the other system holds under the same address, when it was not among them:
a sync would meet that record too, and without it a person in both systems would look
like a create. They are then taken in exactly as a pull takes them in (`flows.ingest`)
over a `ScratchDatabase`, and the outbox that leaves is read before it is rolled back.
Baton's own state is left as it was; not even a run record is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.contract import ContactConnector, RawRecord, WriteOp
from flows.context import SyncContext, open_run
from flows.dry_run import PlannedWrite, WritePlan
from flows.ingest import apply_records
from flows.report import RunReport
from mapping.config import MappingConfig
from mapping.translate import read_record
from state.database import sqlite_file
from state.models import ContactRow, LinkRow, OutboxRow, OutboxStatus
from state.scratch import ScratchDatabase


@dataclass(frozen=True)
class RecordPreview:
    """One fetched record: what Baton reads from it, and what a sync would write."""

    system: str
    external_id: str
    email: str | None
    values: Mapping[str, Any]
    """The record's own canonical values, as the mapping reads them."""
    problems: tuple[str, ...] = ()
    """What a sync would dead-letter: the whole record (no usable email) or a field."""
    contact: Mapping[str, Any] | None = None
    """The contact's canonical values once the record is merged."""
    writes: tuple[PlannedWrite, ...] = ()
    """The writes a sync would make for the contact, in every system."""


@dataclass
class Preview:
    systems: Sequence[str]
    records: list[RecordPreview] = field(default_factory=list)

    def plan(self) -> WritePlan:
        """Every write the previewed records lead to, each once."""
        plan = WritePlan(self.systems)
        seen: set[tuple[str, str]] = set()
        for record in self.records:
            for write in record.writes:
                if (write.system, write.email) not in seen:
                    seen.add((write.system, write.email))
                    plan.writes.append(write)
        return plan


async def fetch_sample(
    connectors: Mapping[str, ContactConnector], limit: int
) -> dict[str, list[RawRecord]]:
    """The first `limit` records of each system (one page each, sized to fit)."""
    sample: dict[str, list[RawRecord]] = {}
    for system, connector in connectors.items():
        connector.page_size = max(1, min(limit, connector.page_size))
        page = await connector.fetch_page(None, None)
        sample[system] = list(page.records[:limit])
    return sample


async def fetch_counterparts(
    connectors: Mapping[str, ContactConnector], sample: Mapping[str, Sequence[RawRecord]]
) -> dict[str, list[RawRecord]]:
    """Per system, the records it holds under an address sampled elsewhere only."""
    counterparts: dict[str, list[RawRecord]] = {}
    for system, connector in connectors.items():
        have = {_norm(r.email) for r in sample.get(system, ())}
        wanted: dict[str, WriteOp] = {}
        for other, records in sample.items():
            if other == system:
                continue
            for record in records:
                email = _norm(record.email)
                if email and email not in have and email not in wanted:
                    wanted[email] = WriteOp(key=email, email=email, fields={})
        found = await connector.read(list(wanted.values())) if wanted else {}
        counterparts[system] = list(found.values())
    return counterparts


async def preview(
    config: MappingConfig,
    connectors: Mapping[str, ContactConnector],
    database_url: str,
    limit: int,
    lease_timeout: timedelta = timedelta(seconds=600),
) -> Preview:
    """Fetch, read and plan `limit` records per system; writes nothing anywhere."""
    sample = await fetch_sample(connectors, limit)
    counterparts = await fetch_counterparts(connectors, sample)
    file = sqlite_file(database_url)
    # Never synced: plan against an empty state instead of creating the database.
    scratch = ScratchDatabase(database_url if file is None or file.exists() else "sqlite://")
    try:
        run_id, started_at = open_run(scratch, lease_timeout)
        ctx = SyncContext(
            db=scratch,
            config=config,
            connectors=connectors,
            report=RunReport(run_id=run_id),
            run_id=run_id,
            started_at=started_at,
        )
        with scratch.session() as s:
            for system in ctx.systems:
                records = [*sample.get(system, ()), *counterparts.get(system, ())]
                apply_records(ctx, s, system, records)
                s.commit()
            result = Preview(ctx.systems)
            for system in ctx.systems:
                for record in sample.get(system, ()):
                    result.records.append(_describe(ctx, s, system, record))
    finally:
        scratch.discard()
    return result


def _describe(ctx: SyncContext, s: Session, system: str, record: RawRecord) -> RecordPreview:
    reading = read_record(ctx.config, system, record.fields, record.email)
    problems = [str(r) for r in reading.rejected]
    if reading.email is None:
        problems.insert(0, str(reading.unidentified or "no usable email"))
    contact_id = s.scalar(
        select(LinkRow.contact_id).where(
            LinkRow.system == system, LinkRow.external_id == record.external_id
        )
    )
    if contact_id is None:
        return RecordPreview(
            system, record.external_id, record.email, reading.values, tuple(problems)
        )
    contact = s.get(ContactRow, contact_id)
    rows = s.scalars(
        select(OutboxRow)
        .where(OutboxRow.contact_id == contact_id, OutboxRow.status == OutboxStatus.PENDING)
        .order_by(OutboxRow.system)
    )
    writes = tuple(
        PlannedWrite.of(
            row.system,
            WriteOp(
                key=row.idempotency_key,
                email=row.email,
                fields=dict(row.payload),
                external_id=row.external_id,
            ),
        )
        for row in rows
    )
    return RecordPreview(
        system,
        record.external_id,
        record.email,
        reading.values,
        tuple(problems),
        dict(contact.values) if contact is not None else None,
        writes,
    )


def _norm(email: str | None) -> str:
    return email.strip().lower() if email else ""
