"""Put dead letters back in the pipeline once their cause is fixed.

A refused write re-plans its contact from the current state; the next sync
sends it, and the letter closes once it goes through. A record that could
not be read is applied again from the stored copy with the current mapping,
but only the part that failed, and only if no newer copy of the record has
been pulled since: replaying never turns back a later change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.contract import ContactConnector, RawRecord
from flows.context import SyncContext, close_run
from flows.ingest import apply_records
from flows.planning import plan_contacts
from flows.run import open_context
from flows.settings import Settings
from state import repository as repo
from state.models import DeadLetterRow, RunStatus, utcnow
from state.working_set import WorkingSet


@dataclass(frozen=True)
class ReplayResult:
    """What replaying one letter did. `queued`: the next sync sends it, and the
    letter closes when the write goes through (or is replaced by a new refusal)."""

    letter_id: int
    resolved: bool
    detail: str
    queued: bool = False


def replay_letters(
    settings: Settings,
    letter_ids: Sequence[int] | None = None,
    connectors: Mapping[str, ContactConnector] | None = None,
) -> list[ReplayResult]:
    """Replay letters as a run of its own: it holds the lease like a sync does."""
    ctx = open_context(settings, connectors=connectors)
    try:
        results = replay(ctx, letter_ids)
    except BaseException as exc:
        close_run(ctx, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        ctx.db.dispose()
    close_run(ctx, RunStatus.REPLAY)
    return results


def replay(ctx: SyncContext, letter_ids: Sequence[int] | None = None) -> list[ReplayResult]:
    """Replay the given open letters (all open ones when None), oldest first."""
    with ctx.db.session() as s:
        letters = repo.open_dead_letters(s, limit=100_000)
        ids = sorted(d.id for d in letters if letter_ids is None or d.id in letter_ids)
    results = []
    for letter_id in ids:
        with ctx.db.session() as s:
            letter = s.get(DeadLetterRow, letter_id)
            if letter is None or letter.resolved_at is not None:
                continue
            result = _replay_one(ctx, letter)
            if result.resolved:
                letter.resolved_at = utcnow()
                letter.resolution = f"replayed: {result.detail}"
            s.commit()
            results.append(result)
    return results


def _replay_one(ctx: SyncContext, letter: DeadLetterRow) -> ReplayResult:
    if letter.stage == "push" and letter.contact_id is not None:
        return _replan(ctx, letter, letter.contact_id)
    if letter.stage == "pull":
        return _reapply(ctx, letter)
    return ReplayResult(letter.id, False, f"cannot replay a {letter.stage!r} letter")


def _replan(ctx: SyncContext, letter: DeadLetterRow, contact_id: int) -> ReplayResult:
    with ctx.db.session() as s:
        work = WorkingSet(s)
        work.load_contacts([contact_id])
        rows = [r for r in plan_contacts(ctx, work, [contact_id]) if r.system == letter.system]
        s.commit()
    if not rows:
        return ReplayResult(letter.id, True, f"nothing left to send: {letter.system} matches")
    return ReplayResult(letter.id, False, "queued: the next sync sends it", queued=True)


def _reapply(ctx: SyncContext, letter: DeadLetterRow) -> ReplayResult:
    system = letter.system
    stored = RawRecord(
        system=system,
        external_id=str(letter.payload["external_id"]),
        email=None,
        modified_at=datetime.fromisoformat(letter.payload["modified_at"]),
        fields=letter.payload["fields"],
    )
    with ctx.db.session() as s:
        work = WorkingSet(s)
        work.load_records(system, [stored.external_id], [])
        link = work.link(system, stored.external_id)
        if (
            link is not None
            and link.remote_modified_at is not None
            and link.remote_modified_at > stored.modified_at
        ):
            return ReplayResult(
                letter.id, True, "superseded: a newer copy of the record was pulled since"
            )
    record = _only_failed_part(ctx, letter, stored) if link is not None else stored
    before = ctx.report.of(system).dead_lettered
    with ctx.db.session() as s:
        apply_records(ctx, s, system, [record])
        if ctx.report.of(system).dead_lettered > before:
            s.rollback()
            return ReplayResult(letter.id, False, "still failing: " + letter.reason)
        s.commit()
    return ReplayResult(letter.id, True, "record applied")


def _only_failed_part(ctx: SyncContext, letter: DeadLetterRow, stored: RawRecord) -> RawRecord:
    """The stored record cut down to its identity and the field that failed."""
    keep = {ctx.config.identity_binding(letter.system).field}
    mapping = ctx.config.fields.get(letter.field or "")
    if mapping is not None and letter.system in mapping.bindings:
        keep.add(mapping.bindings[letter.system].field)
    fields = {k: v for k, v in stored.fields.items() if k in keep}
    return RawRecord(stored.system, stored.external_id, stored.email, stored.modified_at, fields)
