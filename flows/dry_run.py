"""`baton sync --dry-run`: a whole run that plans every write and sends none.

The run is the real one (`flows.run.sync_once`: settling, pulls, merges, planning, the
claim loop, the push step) with two things swapped: a `ScratchDatabase`, and connectors
that read through the real ones and take each write as done without sending it
(`flows.planning_connector`). Pulls, read-backs and the settling of writes a crash left
in flight only read from the systems. Everything the steps store (links, shadows, the
outbox, cursors, dead letters) goes into the scratch transaction and is rolled back, so
the plan is what the next real run would send, computed by the same code.

Only the run record stays: the run is opened (and its lease taken) on the real database
before the scratch copy starts and closed there after it is discarded, with the planned
counts in its stats (its created / updated counts stay 0: nothing was written). A real
run cannot start meanwhile: the lease is held.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from connectors.contract import FieldValue, WriteOp
from flows.context import SyncContext, close_run
from flows.planning_connector import PlanningConnector
from flows.run import Steps, sync_once
from state.models import RunStatus
from state.scratch import ScratchDatabase


class WriteKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"


@dataclass(frozen=True)
class PlannedWrite:
    """One record write a run would send."""

    system: str
    kind: WriteKind
    email: str
    external_id: str | None
    fields: Mapping[str, FieldValue]

    @classmethod
    def of(cls, system: str, op: WriteOp) -> PlannedWrite:
        kind = WriteKind.CREATE if op.external_id is None else WriteKind.UPDATE
        return cls(system, kind, op.email, op.external_id, dict(op.fields))

    def as_dict(self) -> dict[str, object]:
        return {
            "system": self.system,
            "kind": str(self.kind),
            "email": self.email,
            "external_id": self.external_id,
            "fields": dict(self.fields),
        }


@dataclass
class WritePlan:
    """Every write a run would send, per system."""

    systems: Sequence[str]
    writes: list[PlannedWrite] = field(default_factory=list)

    def add(self, system: str, ops: Iterable[WriteOp]) -> None:
        self.writes.extend(PlannedWrite.of(system, op) for op in ops)

    def counts(self) -> dict[str, dict[str, int]]:
        """{system: {"create": n, "update": n}}, every system listed."""
        counts = {system: {str(kind): 0 for kind in WriteKind} for system in self.systems}
        for write in self.writes:
            counts.setdefault(write.system, {str(k): 0 for k in WriteKind})[str(write.kind)] += 1
        return counts

    def sample(self, per_system: int = 5) -> list[PlannedWrite]:
        """The first writes of each system, creates and updates alike."""
        out: list[PlannedWrite] = []
        for system in self.systems:
            out.extend([w for w in self.writes if w.system == system][:per_system])
        return out


async def dry_run(ctx: SyncContext, steps: Steps | None = None) -> WritePlan:
    """Run `ctx`'s run without sending a write or keeping anything but its run record.

    `ctx` is opened on the real database (`flows.run.open_context`); this closes it there.
    `steps` are the run's steps (the Prefect flow passes its tasks).
    """
    plan = WritePlan(ctx.systems)
    connectors = {
        system: PlanningConnector(connector, plan.add)
        for system, connector in ctx.connectors.items()
    }
    scratch = ScratchDatabase(ctx.db.url)
    started = time.perf_counter()
    try:
        await sync_once(replace(ctx, db=scratch, connectors=connectors), steps or Steps())
    except BaseException as exc:
        scratch.discard()
        _close(ctx, plan, started, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    scratch.discard()
    errors = ctx.report.errors
    _close(
        ctx,
        plan,
        started,
        RunStatus.PARTIAL if errors else RunStatus.COMPLETED,
        "; ".join(f"{system}: {error}" for system, error in errors.items()) or None,
    )
    return plan


def _close(
    ctx: SyncContext, plan: WritePlan, started: float, status: RunStatus, error: str | None
) -> None:
    ctx.report.seconds = time.perf_counter() - started
    ctx.report.planned = plan.counts()
    for counts in ctx.report.systems.values():
        counts.created = counts.updated = 0  # planned, not written
    close_run(ctx, status, error)
