"""External ids Baton never writes to again (`RetiredIdRow`), and the planned writes
they cancel.

A merge, an archive or a collapse retires ids in the transaction of the page that
saw it, and cancels the writes still planned for them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from state.models import OutboxRow, OutboxStatus, RetiredIdRow, RetiredReason
from state.repository import chunks

_RETIRED = cast(Table, RetiredIdRow.__table__)


@dataclass(frozen=True)
class Retired:
    """A retired id as a page works on it (`RetiredIdRow`'s columns that matter)."""

    system: str
    external_id: str
    reason: RetiredReason
    contact_id: int | None


def _retired(query: object, s: Session) -> Iterator[Retired]:
    for row in s.execute(query):  # type: ignore[call-overload]
        yield Retired(row.system, row.external_id, RetiredReason(row.reason), row.contact_id)


def retired_among(s: Session, system: str, external_ids: Collection[str]) -> dict[str, Retired]:
    """The retired ones of `external_ids` in `system`, by id."""
    found: dict[str, Retired] = {}
    for chunk in chunks(sorted(set(external_ids))):
        query = select(_RETIRED).where(
            _RETIRED.c.system == system, _RETIRED.c.external_id.in_(chunk)
        )
        found.update({r.external_id: r for r in _retired(query, s)})
    return found


def retired_of_contacts(s: Session, contact_ids: Collection[int]) -> list[Retired]:
    """The retired records of these contacts, in every system."""
    found: list[Retired] = []
    for chunk in chunks(sorted(set(contact_ids))):
        found += _retired(select(_RETIRED).where(_RETIRED.c.contact_id.in_(chunk)), s)
    return found


def cancel_pending_of(s: Session, contact_ids: Collection[int]) -> None:
    """The contacts' pending writes in every system will not be sent."""
    for chunk in chunks(sorted(set(contact_ids))):
        s.execute(
            update(OutboxRow)
            .where(OutboxRow.contact_id.in_(chunk), OutboxRow.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )


def cancel_pending_to(s: Session, system: str, external_ids: Collection[str]) -> None:
    """Pending writes addressed to these ids of `system` will not be sent."""
    for chunk in chunks(sorted(set(external_ids))):
        s.execute(
            update(OutboxRow)
            .where(
                OutboxRow.system == system,
                OutboxRow.external_id.in_(chunk),
                OutboxRow.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
