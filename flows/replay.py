"""Put dead letters back in the pipeline once their cause is fixed.

A record dead-lettered while pulling is applied again from the stored copy
with the current mapping; a refused write re-plans its contact, and the next
sync sends it. Nothing is lost: a letter stays open until its record goes
through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.contract import RawRecord
from flows import engine
from flows.engine import SyncContext
from state import repository as repo
from state.models import DeadLetterRow, utcnow
from state.working_set import WorkingSet


@dataclass(frozen=True)
class ReplayResult:
    letter_id: int
    resolved: bool
    detail: str


def replay(ctx: SyncContext, letter_ids: Sequence[int] | None = None) -> list[ReplayResult]:
    """Replay the given open letters (all open ones when None)."""
    with ctx.db.session() as s:
        letters = repo.open_dead_letters(s, limit=10_000)
        wanted = [d for d in letters if letter_ids is None or d.id in letter_ids]
        ids = [d.id for d in wanted]
    results = []
    for letter_id in sorted(ids):
        with ctx.db.session() as s:
            letter = s.get(DeadLetterRow, letter_id)
            if letter is None:
                continue
            result = _replay_one(ctx, letter)
            if result.resolved:
                letter.resolved_at = utcnow()
                s.commit()
            results.append(result)
    return results


def _replay_one(ctx: SyncContext, letter: DeadLetterRow) -> ReplayResult:
    if letter.stage == "push" and letter.contact_id is not None:
        with ctx.db.session() as s:
            work = WorkingSet(s)
            work.load_contacts([letter.contact_id])
            engine.plan_contacts(ctx, work, [letter.contact_id])
            s.commit()
        return ReplayResult(letter.id, True, "write planned again; the next sync sends it")
    if letter.stage == "pull":
        record = RawRecord(
            system=letter.system,
            external_id=str(letter.payload["external_id"]),
            email=None,
            modified_at=datetime.fromisoformat(letter.payload["modified_at"]),
            fields=letter.payload["fields"],
        )
        before = ctx.report.of(letter.system).dead_lettered
        with ctx.db.session() as s:
            engine.apply_records(ctx, s, letter.system, [record])
            if ctx.report.of(letter.system).dead_lettered > before:
                s.rollback()
                return ReplayResult(letter.id, False, "still failing: " + letter.reason)
            s.commit()
        return ReplayResult(letter.id, True, "record applied")
    return ReplayResult(letter.id, False, f"cannot replay a {letter.stage!r} letter")
